// xkeras/keras_files/zip.hpp - reading the entries of a zip archive in memory (a `.keras` file),
// over libzip.
//
// A hostile archive may lie in its directory, hold thousands of entries, name entries with
// absolute paths or "..", or expand a small entry into gigabytes. The reader lists at most
// `max_entries` entries, reads an entry only by its exact name, refuses names that are not plain
// relative paths, bounds every entry's size before allocating, refuses compression ratios no
// real file has, and checks that an entry expands to exactly the size its directory says.
#pragma once

#include <zip.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "../config.hpp"
#include "../detail/format.hpp"

namespace xkeras::keras_files::zip {

/// Bounds on what an archive may make the reader hold.
struct limits {
    std::size_t max_entries = 1000;
    std::size_t max_entry_bytes = std::size_t(4) << 30;  ///< expanded size of one entry
    std::size_t max_ratio = 200;  ///< expanded / compressed size of a compressed entry
};

/// One entry of the archive's directory.
struct entry {
    std::string name;
    std::uint64_t size = 0;             ///< expanded
    std::uint64_t compressed_size = 0;  ///< stored
    std::uint16_t method = 0;           ///< ZIP_CM_STORE (0) or ZIP_CM_DEFLATE (8), ...
};

/// A zip archive read from bytes in memory, which it keeps; `name` names it in errors.
class archive {
  public:
    archive(std::string bytes, std::string name, limits lim = {})
        : bytes_(std::move(bytes)), name_(std::move(name)), lim_(lim) {
        zip_error_t error;
        zip_error_init(&error);
        zip_source_t* source = zip_source_buffer_create(bytes_.data(), bytes_.size(), 0, &error);

        if (!source) throw io_error(quoted() + ": libzip cannot take the file's bytes");
        za_.reset(zip_open_from_source(source, ZIP_RDONLY | ZIP_CHECKCONS, &error));
        if (!za_) {
            const std::string why = zip_error_strerror(&error);
            zip_source_free(source);
            zip_error_fini(&error);
            throw io_error(quoted() + " is not a readable zip archive (" + why + ")");
        }
        zip_error_fini(&error);
        const zip_int64_t n = zip_get_num_entries(za_.get(), 0);
        if (n < 0 || std::uint64_t(n) > lim_.max_entries)
            throw io_error(quoted() + " has " + std::to_string(n) + " entries; a Keras file has " +
                           "a few, and at most " + std::to_string(lim_.max_entries) + " are read");
        for (zip_int64_t i = 0; i < n; ++i) {
            zip_stat_t st;
            zip_stat_init(&st);
            if (zip_stat_index(za_.get(), zip_uint64_t(i), 0, &st) != 0 ||
                !(st.valid & ZIP_STAT_NAME) || !(st.valid & ZIP_STAT_SIZE) ||
                !(st.valid & ZIP_STAT_COMP_SIZE) || !(st.valid & ZIP_STAT_COMP_METHOD))
                throw io_error(quoted() + " is damaged: entry " + std::to_string(i) +
                               " of its directory cannot be read");
            entries_.push_back({st.name, st.size, st.comp_size, st.comp_method});
        }
    }

    archive(const archive&) = delete;  // libzip points into bytes_
    archive& operator=(const archive&) = delete;

    /// The entries, in the archive's order.
    const std::vector<entry>& entries() const { return entries_; }

    /// Whether an entry of exactly this name is in the archive.
    bool has(const std::string& name) const { return find(name) >= 0; }

    /// The bytes of entry `name`, after the checks of the file comment. io_error names the
    /// archive and the entry.
    std::string read(const std::string& name) const {
        const long index = find(name);
        if (index < 0) throw io_error(quoted() + " has no entry '" + name + "'");
        const entry& e = entries_[std::size_t(index)];
        const std::string at = quoted() + ", entry '" + xkeras::detail::excerpt(e.name, 200) + "'";
        if (!plain_relative(e.name))
            throw io_error(at + ": an entry name must be a relative path without '..'");
        if (e.size > lim_.max_entry_bytes)
            throw io_error(at + " expands to " + std::to_string(e.size) + " bytes, more than the " +
                           std::to_string(lim_.max_entry_bytes) + " allowed");
        if (e.method != ZIP_CM_STORE &&
            e.size > lim_.max_ratio * std::max<std::uint64_t>(e.compressed_size, 1))
            throw io_error(at + " expands " + std::to_string(e.compressed_size) + " bytes to " +
                           std::to_string(e.size) + ", a ratio no model file has (a zip bomb?)");
        if (e.method != ZIP_CM_STORE && e.method != ZIP_CM_DEFLATE)
            throw io_error(at + " is compressed with method " + std::to_string(e.method) +
                           "; Keras stores its entries (method 0), deflate (8) is read too");
        std::unique_ptr<zip_file_t, int (*)(zip_file_t*)> f(
            zip_fopen_index(za_.get(), zip_uint64_t(index), 0), zip_fclose);
        if (!f) throw io_error(at + " cannot be opened: " + zip_strerror(za_.get()));
        std::string out(std::size_t(e.size), '\0');
        std::size_t got = 0;
        while (got < out.size()) {
            const zip_int64_t r = zip_fread(f.get(), out.data() + got, out.size() - got);
            if (r <= 0) break;
            got += std::size_t(r);
        }
        char extra = 0;
        if (got != out.size() || zip_fread(f.get(), &extra, 1) != 0)
            throw io_error(at + " is damaged: it does not expand to the " + std::to_string(e.size) +
                           " bytes its directory says (or its CRC fails)");
        return out;
    }

  private:
    struct closer {
        void operator()(zip_t* z) const { zip_discard(z); }
    };
    std::string quoted() const {
        return xkeras::detail::cat("'", xkeras::detail::excerpt(name_, 200), "'");
    }
    long find(const std::string& name) const {
        for (std::size_t i = 0; i < entries_.size(); ++i)
            if (entries_[i].name == name) return long(i);
        return -1;
    }
    static bool plain_relative(const std::string& n) {
        if (n.empty() || n.front() == '/' || n.front() == '\\' || n.find('\0') != std::string::npos)
            return false;
        std::size_t start = 0;
        while (start <= n.size()) {
            const std::size_t end = std::min(n.find_first_of("/\\", start), n.size());
            if (n.compare(start, end - start, "..") == 0 && end - start == 2) return false;
            start = end + 1;
        }
        return n.find(':') == std::string::npos;
    }

    std::string bytes_;  // libzip reads them where they are
    std::string name_;
    limits lim_;
    std::unique_ptr<zip_t, closer> za_;
    std::vector<entry> entries_;
};

}  // namespace xkeras::keras_files::zip
