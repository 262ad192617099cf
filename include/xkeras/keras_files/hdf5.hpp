// xkeras/keras_files/hdf5.hpp - the reading half of HDF5 that Keras's files need, over the HDF5
// C library: a file opened from bytes in memory (so `model.weights.h5` is read straight out of
// a `.keras` zip), groups, their children by name, string attributes (fixed-length and
// variable-length, scalar or 1-D) and float or integer datasets.
//
// The bytes come from outside, and HDF5 is a large C library: every object is opened only after
// its name is found among its group's links, every attribute's and dataset's rank, shape, type
// and size is checked before anything is read or allocated, and counts (links, strings) are
// bounded. Errors are io_error naming the file and the object's path. HDF5's own error printing
// is switched off; calls are serialised, since HDF5 may be built without thread safety.
#pragma once

#include <hdf5.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "../config.hpp"
#include "../detail/format.hpp"
#include "../tensor.hpp"

namespace xkeras::keras_files::hdf5 {

/// Bounds on what a file may make the reader hold.
struct limits {
    std::size_t max_links = 100000;            ///< children of one group
    std::size_t max_strings = 100000;          ///< elements of one string attribute
    std::size_t max_string_bytes = 64u << 20;  ///< bytes of one string attribute, in all
    std::size_t max_rank = 8;                  ///< of a dataset
    std::size_t max_name_bytes = 4096;         ///< of a link name
};

/// The lock every HDF5 call of this reader runs under.
inline std::mutex& library_mutex() {
    static std::mutex m;
    return m;
}

namespace detail {

/// An HDF5 identifier closed by `close` at the end of its scope.
class id {
  public:
    using closer = herr_t (*)(hid_t);
    id() = default;
    id(hid_t h, closer c) : h_(h), close_(c) {}
    id(id&& o) noexcept : h_(std::exchange(o.h_, H5I_INVALID_HID)), close_(o.close_) {}
    id& operator=(id&& o) noexcept {
        if (this != &o) {
            reset();
            h_ = std::exchange(o.h_, H5I_INVALID_HID);
            close_ = o.close_;
        }
        return *this;
    }
    id(const id&) = delete;
    id& operator=(const id&) = delete;
    ~id() { reset(); }
    hid_t get() const { return h_; }
    explicit operator bool() const { return h_ >= 0; }

  private:
    void reset() {
        if (h_ >= 0 && close_) close_(h_);
        h_ = H5I_INVALID_HID;
    }
    hid_t h_ = H5I_INVALID_HID;
    closer close_ = nullptr;
};

}  // namespace detail

class file;

/// The shape and element type of a dataset.
struct dataset_info {
    shape_t shape;
    H5T_class_t type_class = H5T_NO_CLASS;  ///< H5T_FLOAT or H5T_INTEGER for what Keras writes
    std::size_t type_size = 0;              ///< bytes per element
    std::string type_name() const {
        if (type_class == H5T_FLOAT) return "float" + std::to_string(8 * type_size);
        if (type_class == H5T_INTEGER) return "int" + std::to_string(8 * type_size);
        return "a type that is not a number";
    }
};

/// A group of an open file: its children by name, its attributes, its datasets.
class group {
  public:
    /// This group's path in the file ("/layers/dense/vars").
    const std::string& path() const { return path_; }

    /// Names of the links in this group, in HDF5's name order (bounded by limits::max_links).
    std::vector<std::string> children() const;
    /// Whether a link of this name is in the group (never follows anything).
    bool has(const std::string& name) const;
    /// The child group `name`; io_error when it is missing or not a group.
    group child(const std::string& name) const;

    /// Whether the attribute exists.
    bool has_attribute(const std::string& name) const;
    /// A string attribute as a list of strings: a scalar gives one, a 1-D array its elements
    /// (fixed-length or variable-length, trailing NULs of fixed-length strings removed). An
    /// attribute that is an empty non-string array (Keras 2 writes `weight_names=[]` so) gives
    /// none. io_error for anything else.
    std::vector<std::string> strings(const std::string& name) const;

    /// The shape and type of dataset `name`; io_error when it is missing or not a dataset.
    dataset_info dataset(const std::string& name) const;
    /// Dataset `name`, converted to T by HDF5, after checking that it is a float dataset of
    /// exactly shape `expected`: nothing of another size is allocated.
    template <class T>
    tensor<T> read(const std::string& name, const shape_t& expected) const;
    /// A scalar integer dataset (Keras's iteration counter).
    std::int64_t read_integer(const std::string& name) const;

    /// "'file': /path", for messages about this group.
    std::string describe() const;
    /// "'file': /path/name", for messages about child `name`.
    std::string where(const std::string& name) const {
        return describe() + "/" + xkeras::detail::excerpt(name, 200);
    }

  private:
    friend class file;
    group(const file* f, detail::id h, std::string path)
        : file_(f), h_(std::move(h)), path_(std::move(path)) {}
    detail::id open_object(const std::string& name, H5I_type_t want, const char* what) const;

    const file* file_ = nullptr;
    detail::id h_;
    std::string path_;
};

/// An HDF5 file read from bytes in memory; `name` names it in errors.
class file {
  public:
    file(const std::string& bytes, std::string name, limits lim = {});
    file(const file&) = delete;
    file& operator=(const file&) = delete;
    ~file() = default;

    /// The root group "/".
    group root() const;
    const std::string& name() const { return name_; }
    const limits& bounds() const { return lim_; }

  private:
    std::string name_;
    limits lim_;
    detail::id h_;
};

// ---------------------------------------------------------------------------------------------

namespace detail {

inline std::string quoted(const std::string& s) {
    return "'" + xkeras::detail::excerpt(s, 200) + "'";
}

}  // namespace detail

inline file::file(const std::string& bytes, std::string name, limits lim)
    : name_(std::move(name)), lim_(lim) {
    std::lock_guard<std::mutex> lock(library_mutex());
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // errors are reported by exceptions only
    // a file naming a filter HDF5 lacks must not make it load code from its plugin directories
    H5PLset_loading_state(0);
    if (bytes.size() < 8 || bytes.compare(0, 8, "\x89HDF\r\n\x1a\n", 8) != 0)
        throw io_error(detail::quoted(name_) +
                       " is not an HDF5 file (its first 8 bytes are not HDF5's signature)");
    detail::id fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
    if (!fapl || H5Pset_fapl_core(fapl.get(), 1 << 16, 0) < 0 ||
        H5Pset_file_image(fapl.get(), const_cast<char*>(bytes.data()), bytes.size()) < 0)
        throw io_error(detail::quoted(name_) + ": HDF5 could not take the file's bytes");
    // the core driver takes the name as the file's identity (and may look for it on disk):
    // each image gets a name of its own that no path has
    static std::uint64_t images = 0;
    const std::string image_name = "xkeras-hdf5-image-" + std::to_string(++images);
    h_ = detail::id(H5Fopen(image_name.c_str(), H5F_ACC_RDONLY, fapl.get()), H5Fclose);
    if (!h_)
        throw io_error(detail::quoted(name_) +
                       " is damaged: HDF5 cannot open it (a truncated or altered file)");
}

inline group file::root() const {
    std::lock_guard<std::mutex> lock(library_mutex());
    detail::id g(H5Gopen2(h_.get(), "/", H5P_DEFAULT), H5Gclose);
    if (!g) throw io_error(detail::quoted(name_) + " is damaged: its root group cannot be read");
    return group(this, std::move(g), "");
}

inline std::string group::describe() const {
    return detail::quoted(file_->name()) + ": " + (path_.empty() ? "/" : path_);
}

inline std::vector<std::string> group::children() const {
    std::lock_guard<std::mutex> lock(library_mutex());
    H5G_info_t info{};
    if (H5Gget_info(h_.get(), &info) < 0)
        throw io_error(describe() + " is damaged: its links cannot be listed");
    if (info.nlinks > file_->bounds().max_links)
        throw io_error(describe() + " has " + std::to_string(info.nlinks) +
                       " links, more than the " + std::to_string(file_->bounds().max_links) +
                       " a Keras file has");
    std::vector<std::string> out;
    for (hsize_t i = 0; i < info.nlinks; ++i) {
        const ssize_t n = H5Lget_name_by_idx(h_.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr,
                                             0, H5P_DEFAULT);
        if (n < 0 || std::size_t(n) > file_->bounds().max_name_bytes)
            throw io_error(describe() + " is damaged: link " + std::to_string(i) +
                           " has no readable name");
        std::string name(std::size_t(n) + 1, '\0');
        if (H5Lget_name_by_idx(h_.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(),
                               name.size(), H5P_DEFAULT) != n)
            throw io_error(describe() + " is damaged: link " + std::to_string(i) +
                           " has no readable name");
        name.resize(std::size_t(n));
        out.push_back(std::move(name));
    }
    return out;
}

inline bool group::has(const std::string& name) const {
    // H5Lexists would parse a name with '/' as a path: only plain names are looked up
    if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..")
        return false;
    std::lock_guard<std::mutex> lock(library_mutex());
    return H5Lexists(h_.get(), name.c_str(), H5P_DEFAULT) > 0;
}

inline detail::id group::open_object(const std::string& name, H5I_type_t want,
                                     const char* what) const {
    if (!has(name)) throw io_error(where(name) + " is missing (expected a " + what + ")");
    std::lock_guard<std::mutex> lock(library_mutex());
    detail::id h(H5Oopen(h_.get(), name.c_str(), H5P_DEFAULT), H5Oclose);
    if (!h) throw io_error(where(name) + " is damaged: HDF5 cannot open it");
    if (H5Iget_type(h.get()) != want) throw io_error(where(name) + " is not a " + what);
    return h;
}

inline group group::child(const std::string& name) const {
    return group(file_, open_object(name, H5I_GROUP, "group"), path_ + "/" + name);
}

inline bool group::has_attribute(const std::string& name) const {
    std::lock_guard<std::mutex> lock(library_mutex());
    return H5Aexists(h_.get(), name.c_str()) > 0;
}

inline std::vector<std::string> group::strings(const std::string& name) const {
    const std::string at = where("@" + name);
    if (!has_attribute(name)) throw io_error(at + " is missing (expected strings)");
    std::lock_guard<std::mutex> lock(library_mutex());
    detail::id a(H5Aopen(h_.get(), name.c_str(), H5P_DEFAULT), H5Aclose);
    if (!a) throw io_error(at + " is damaged: HDF5 cannot open it");
    detail::id space(H5Aget_space(a.get()), H5Sclose);
    detail::id type(H5Aget_type(a.get()), H5Tclose);
    if (!space || !type) throw io_error(at + " is damaged: its shape or type cannot be read");
    const int rank = H5Sget_simple_extent_ndims(space.get());
    const hssize_t count = H5Sget_simple_extent_npoints(space.get());
    if (rank < 0 || rank > 1 || count < 0)
        throw io_error(at + " must be a string or a list of strings, got an array of rank " +
                       std::to_string(rank));
    const auto n = std::size_t(count);
    if (n > file_->bounds().max_strings)
        throw io_error(at + " holds " + std::to_string(n) + " strings, more than the " +
                       std::to_string(file_->bounds().max_strings) + " allowed");
    const H5T_class_t cls = H5Tget_class(type.get());
    if (cls != H5T_STRING) {
        if (n == 0) return {};  // Keras 2's empty weight_names: an empty float64 array
        throw io_error(at + " must hold strings, got numbers or other data");
    }
    std::vector<std::string> out;
    const htri_t variable = H5Tis_variable_str(type.get());
    if (variable < 0) throw io_error(at + " is damaged: its string type cannot be read");
    if (variable) {
        detail::id mem(H5Tcopy(H5T_C_S1), H5Tclose);
        if (!mem || H5Tset_size(mem.get(), H5T_VARIABLE) < 0 ||
            H5Tset_cset(mem.get(), H5Tget_cset(type.get())) < 0)
            throw io_error(at + ": HDF5 cannot make a string type");
        std::vector<char*> ptrs(n, nullptr);
        if (n > 0 && H5Aread(a.get(), mem.get(), ptrs.data()) < 0)
            throw io_error(at + " is damaged: its strings cannot be read");
        std::size_t total = 0;
        bool too_long = false;
        for (char* p : ptrs) {
            const std::size_t len = p ? std::strlen(p) : 0;
            total += len;
            if (total > file_->bounds().max_string_bytes) too_long = true;
            if (!too_long) out.emplace_back(p ? p : "", len);
        }
#if H5_VERSION_GE(1, 12, 0)
        H5Treclaim(mem.get(), space.get(), H5P_DEFAULT, ptrs.data());
#else
        H5Dvlen_reclaim(mem.get(), space.get(), H5P_DEFAULT, ptrs.data());
#endif
        if (too_long)
            throw io_error(at + " holds more than " +
                           std::to_string(file_->bounds().max_string_bytes) + " bytes of text");
        return out;
    }
    const std::size_t size = H5Tget_size(type.get());
    if (size == 0 || (n > 0 && size > file_->bounds().max_string_bytes / n))
        throw io_error(at + " holds more than " + std::to_string(file_->bounds().max_string_bytes) +
                       " bytes of text");
    std::string buffer(n * size, '\0');
    if (n > 0 && H5Aread(a.get(), type.get(), buffer.data()) < 0)
        throw io_error(at + " is damaged: its strings cannot be read");
    for (std::size_t i = 0; i < n; ++i) {
        std::string s = buffer.substr(i * size, size);
        s.resize(std::min(s.find('\0'), s.size()));
        out.push_back(std::move(s));
    }
    return out;
}

inline dataset_info group::dataset(const std::string& name) const {
    detail::id d = open_object(name, H5I_DATASET, "dataset");
    std::lock_guard<std::mutex> lock(library_mutex());
    detail::id space(H5Dget_space(d.get()), H5Sclose);
    detail::id type(H5Dget_type(d.get()), H5Tclose);
    if (!space || !type)
        throw io_error(where(name) + " is damaged: its shape or type is unreadable");
    const int rank = H5Sget_simple_extent_ndims(space.get());
    if (rank < 0 || std::size_t(rank) > file_->bounds().max_rank)
        throw io_error(where(name) + " has rank " + std::to_string(rank) + "; at most " +
                       std::to_string(file_->bounds().max_rank) + " is read");
    std::vector<hsize_t> dims(std::size_t(rank) + 1);
    if (H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr) != rank)
        throw io_error(where(name) + " is damaged: its shape is unreadable");
    dataset_info info;
    for (int i = 0; i < rank; ++i) info.shape.push_back(std::size_t(dims[std::size_t(i)]));
    info.type_class = H5Tget_class(type.get());
    info.type_size = H5Tget_size(type.get());
    return info;
}

template <class T>
tensor<T> group::read(const std::string& name, const shape_t& expected) const {
    const dataset_info info = dataset(name);
    if (info.type_class != H5T_FLOAT || (info.type_size != 4 && info.type_size != 8))
        throw io_error(where(name) + " holds " + info.type_name() +
                       " values; a weight must be float32 or float64");
    if (info.shape != expected)
        throw io_error(where(name) + " has shape " + shape_str(info.shape) +
                       ", the model's weight has shape " + shape_str(expected));
    tensor<T> out(expected);
    detail::id d = open_object(name, H5I_DATASET, "dataset");
    std::lock_guard<std::mutex> lock(library_mutex());
    const hid_t mem = sizeof(T) == 8 ? H5T_NATIVE_DOUBLE : H5T_NATIVE_FLOAT;
    if (out.size() > 0 && H5Dread(d.get(), mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0)
        throw io_error(where(name) + " is damaged: its values cannot be read");
    return out;
}

inline std::int64_t group::read_integer(const std::string& name) const {
    const dataset_info info = dataset(name);
    if (!info.shape.empty() || info.type_class != H5T_INTEGER || info.type_size > 8)
        throw io_error(where(name) + " must be a scalar integer, got " + info.type_name() +
                       " of shape " + shape_str(info.shape));
    std::int64_t v = 0;
    detail::id d = open_object(name, H5I_DATASET, "dataset");
    std::lock_guard<std::mutex> lock(library_mutex());
    if (H5Dread(d.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v) < 0)
        throw io_error(where(name) + " is damaged: its value cannot be read");
    return v;
}

}  // namespace xkeras::keras_files::hdf5
