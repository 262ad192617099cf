// xkeras/io/keras_formats.hpp - where the model's load and save hand over Keras's own files.
//
// Keras's `.keras` zips and HDF5 `.h5` files are read and written by the optional headers
// <xkeras/keras_files.hpp> (CMake target xkeras::keras_files), which need HDF5 and libzip; the
// core library links neither. Including those headers fills these slots. load_model and
// load_weights tell a Keras file by its first bytes, save and save_weights by the file name's
// extension (`.keras`, `.h5`, `.hdf5`); without the slots filled a Keras file is refused with a
// message saying what to include and link.
#pragma once

#include <filesystem>
#include <string>

namespace xkeras {

template <class T>
class basic_sequential;

namespace io {

/// Readers and writers of Keras files for models of element type T; `name` names the file in
/// errors.
template <class T>
struct keras_file_format {
    basic_sequential<T> (*load_model)(const std::string& bytes, const std::string& name) = nullptr;
    void (*load_weights)(basic_sequential<T>& model, const std::string& bytes,
                         const std::string& name) = nullptr;
    void (*save)(const basic_sequential<T>& model, const std::filesystem::path& path) = nullptr;
    void (*save_weights)(const basic_sequential<T>& model,
                         const std::filesystem::path& path) = nullptr;
};

/// The readers and writers in use; empty unless <xkeras/keras_files.hpp> is in the program.
template <class T>
inline keras_file_format<T> keras_formats{};

/// Whether `bytes` begin as a Keras file does: a zip archive (".keras") or HDF5 (".h5").
inline bool is_keras_file(const std::string& bytes) {
    return (bytes.size() >= 4 && bytes.compare(0, 4, "PK\x03\x04", 4) == 0) ||
           (bytes.size() >= 8 && bytes.compare(0, 8, "\x89HDF\r\n\x1a\n", 8) == 0);
}

/// Whether `path` names a Keras file by its extension: `.keras`, `.h5` or `.hdf5`.
inline bool is_keras_path(const std::filesystem::path& path) {
    const auto ext = path.extension();
    return ext == ".keras" || ext == ".h5" || ext == ".hdf5";
}

}  // namespace io
}  // namespace xkeras
