// xkeras/keras_files/zip_writer.hpp - a zip archive built in memory (a `.keras` file), over
// libzip: entries in the order they are added, stored uncompressed as Keras stores them.
#pragma once

#include <zip.h>

#include <cstdio>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "../config.hpp"

namespace xkeras::keras_files::zip {

/// The bytes of a zip archive of `entries` (name, content), in that order, stored (method 0),
/// each dated `when`.
inline std::string store(const std::vector<std::pair<std::string, std::string>>& entries,
                         std::time_t when) {
    auto fail = [](const std::string& what) -> std::string {
        throw io_error("zip writing: " + what);
    };
    zip_error_t error;
    zip_error_init(&error);
    zip_source_t* target = zip_source_buffer_create(nullptr, 0, 0, &error);
    if (!target) return fail("cannot make a buffer");
    std::unique_ptr<zip_source_t, void (*)(zip_source_t*)> keep(target, zip_source_free);
    zip_t* za = zip_open_from_source(target, ZIP_TRUNCATE, &error);
    if (!za) return fail(zip_error_strerror(&error));
    zip_source_keep(target);  // zip_close writes into it; it is read after
    for (const auto& [name, content] : entries) {
        zip_source_t* s = zip_source_buffer(za, content.data(), content.size(), 0);
        const zip_int64_t index =
            s ? zip_file_add(za, name.c_str(), s, ZIP_FL_ENC_UTF_8 | ZIP_FL_OVERWRITE) : -1;
        if (index < 0) {
            if (s) zip_source_free(s);
            const std::string why = zip_strerror(za);
            zip_discard(za);
            return fail("cannot add " + name + ": " + why);
        }
        if (zip_set_file_compression(za, zip_uint64_t(index), ZIP_CM_STORE, 0) != 0 ||
            zip_file_set_mtime(za, zip_uint64_t(index), when, 0) != 0) {
            const std::string why = zip_strerror(za);
            zip_discard(za);
            return fail("cannot set up " + name + ": " + why);
        }
    }
    if (zip_close(za) != 0) {
        const std::string why = zip_strerror(za);
        zip_discard(za);
        return fail("cannot finish the archive: " + why);
    }
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_source_stat(target, &st) != 0 || !(st.valid & ZIP_STAT_SIZE) ||
        zip_source_open(target) != 0)
        return fail("cannot read the archive back");
    std::string out(std::size_t(st.size), '\0');
    const zip_int64_t got = zip_source_read(target, out.data(), out.size());
    zip_source_close(target);
    if (got != zip_int64_t(out.size())) return fail("cannot read the archive back");
    return out;
}

}  // namespace xkeras::keras_files::zip
