// xkeras/keras_files/hdf5_writer.hpp - the writing half of HDF5 that Keras's files need: an
// HDF5 file built in memory (so it can go into a `.keras` zip or be saved atomically), groups,
// UTF-8 string attributes as h5py writes them (variable-length, scalar), and datasets of floats
// and 64-bit integers, contiguous and uncompressed as Keras writes them.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "../config.hpp"
#include "../tensor.hpp"
#include "hdf5.hpp"

namespace xkeras::keras_files::hdf5 {

class writer;

/// A group being written.
class writing_group {
  public:
    /// A new child group.
    writing_group group(const std::string& name) const {
        std::lock_guard<std::mutex> lock(library_mutex());
        detail::id g(H5Gcreate2(h_.get(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                     H5Gclose);
        if (!g) fail("cannot create group " + name);
        return writing_group(std::move(g));
    }

    /// A child group written before (by group()).
    writing_group open(const std::string& name) const {
        std::lock_guard<std::mutex> lock(library_mutex());
        detail::id g(H5Gopen2(h_.get(), name.c_str(), H5P_DEFAULT), H5Gclose);
        if (!g) fail("cannot open group " + name);
        return writing_group(std::move(g));
    }

    /// A scalar variable-length string attribute: UTF-8 as h5py writes a `str`
    /// (`attrs[name] = "text"`), ASCII as it writes `bytes` (`utf8` false).
    void attribute(const std::string& name, const std::string& value, bool utf8 = true) const {
        std::lock_guard<std::mutex> lock(library_mutex());
        detail::id type(H5Tcopy(H5T_C_S1), H5Tclose);
        detail::id space(H5Screate(H5S_SCALAR), H5Sclose);
        if (!type || !space || H5Tset_size(type.get(), H5T_VARIABLE) < 0 ||
            H5Tset_cset(type.get(), utf8 ? H5T_CSET_UTF8 : H5T_CSET_ASCII) < 0)
            fail("cannot make a string type");
        detail::id a(
            H5Acreate2(h_.get(), name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
            H5Aclose);
        const char* text = value.c_str();
        if (!a || H5Awrite(a.get(), type.get(), &text) < 0) fail("cannot write attribute " + name);
    }

    /// A 1-D attribute of variable-length strings (Keras's `layer_names`, `weight_names`). An
    /// empty list is written as Keras writes `np.asarray([])`: an empty float64 array.
    void attribute(const std::string& name, const std::vector<std::string>& values) const {
        std::lock_guard<std::mutex> lock(library_mutex());
        const hsize_t n = values.size();
        detail::id space(H5Screate_simple(1, &n, nullptr), H5Sclose);
        detail::id type(values.empty() ? H5Tcopy(H5T_IEEE_F64LE) : H5Tcopy(H5T_C_S1), H5Tclose);
        if (!space || !type || (!values.empty() && H5Tset_size(type.get(), H5T_VARIABLE) < 0))
            fail("cannot make the type of attribute " + name);
        detail::id a(
            H5Acreate2(h_.get(), name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
            H5Aclose);
        std::vector<const char*> text;
        for (const auto& v : values) text.push_back(v.c_str());
        if (!a || (!values.empty() && H5Awrite(a.get(), type.get(), text.data()) < 0))
            fail("cannot write attribute " + name);
    }

    /// A dataset holding `t` (float32 for a float model, float64 for a double one).
    template <class T>
    void dataset(const std::string& name, const tensor<T>& t) const {
        const hid_t file_type = sizeof(T) == 8 ? H5T_IEEE_F64LE : H5T_IEEE_F32LE;
        const hid_t memory_type = sizeof(T) == 8 ? H5T_NATIVE_DOUBLE : H5T_NATIVE_FLOAT;
        write(name, shape_of(t), file_type, memory_type, t.data());
    }

    /// A scalar float32 dataset (Keras's learning rate variable).
    void scalar_float32(const std::string& name, float v) const {
        write(name, {}, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, &v);
    }

    /// A scalar int64 dataset (Keras's iteration counter).
    void scalar_int64(const std::string& name, std::int64_t v) const {
        write(name, {}, H5T_STD_I64LE, H5T_NATIVE_INT64, &v);
    }

  private:
    friend class writer;
    explicit writing_group(detail::id h) : h_(std::move(h)) {}

    [[noreturn]] static void fail(const std::string& what) {
        throw io_error("HDF5 writing: " + what);
    }

    void write(const std::string& name, const shape_t& shape, hid_t file_type, hid_t memory_type,
               const void* data) const {
        std::lock_guard<std::mutex> lock(library_mutex());
        std::vector<hsize_t> dims(shape.begin(), shape.end());
        detail::id space(shape.empty() ? H5Screate(H5S_SCALAR)
                                       : H5Screate_simple(int(dims.size()), dims.data(), nullptr),
                         H5Sclose);
        if (!space) fail("cannot make the shape of " + name);
        // a name with '/' (Keras's legacy "dense/kernel") makes the groups on its way, as h5py
        // does
        detail::id links(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
        if (!links || H5Pset_create_intermediate_group(links.get(), 1) < 0)
            fail("cannot set up the links of " + name);
        detail::id d(H5Dcreate2(h_.get(), name.c_str(), file_type, space.get(), links.get(),
                                H5P_DEFAULT, H5P_DEFAULT),
                     H5Dclose);
        if (!d) fail("cannot create dataset " + name);
        if (H5Sget_simple_extent_npoints(space.get()) > 0 &&
            H5Dwrite(d.get(), memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
            fail("cannot write dataset " + name);
    }

    detail::id h_;
};

/// An HDF5 file built in memory; bytes() gives the finished file.
class writer {
  public:
    writer() {
        std::lock_guard<std::mutex> lock(library_mutex());
        H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
        detail::id fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
        // in memory only (no backing store); the name is the image's identity, unique per image
        if (!fapl || H5Pset_fapl_core(fapl.get(), 1 << 16, 0) < 0)
            throw io_error("HDF5 writing: cannot set up a file in memory");
        static std::uint64_t images = 0;
        const std::string name = "xkeras-hdf5-new-image-" + std::to_string(++images);
        file_ =
            detail::id(H5Fcreate(name.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, fapl.get()), H5Fclose);
        if (!file_) throw io_error("HDF5 writing: cannot create a file in memory");
    }

    /// The root group "/".
    writing_group root() const {
        std::lock_guard<std::mutex> lock(library_mutex());
        detail::id g(H5Gopen2(file_.get(), "/", H5P_DEFAULT), H5Gclose);
        if (!g) throw io_error("HDF5 writing: cannot open the root group");
        return writing_group(std::move(g));
    }

    /// The bytes of the file as it stands (every group and dataset closed first).
    std::string bytes() const {
        std::lock_guard<std::mutex> lock(library_mutex());
        if (H5Fflush(file_.get(), H5F_SCOPE_GLOBAL) < 0)
            throw io_error("HDF5 writing: cannot flush the file");
        const ssize_t n = H5Fget_file_image(file_.get(), nullptr, 0);
        if (n <= 0) throw io_error("HDF5 writing: cannot take the file's image");
        std::string out(std::size_t(n), '\0');
        if (H5Fget_file_image(file_.get(), out.data(), out.size()) != n)
            throw io_error("HDF5 writing: cannot take the file's image");
        return out;
    }

  private:
    detail::id file_;
};

}  // namespace xkeras::keras_files::hdf5
