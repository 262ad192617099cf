// xkeras/keras_files.hpp - Keras's own model files, read and written: `.keras` and
// `.weights.h5` (Keras 3).
//
// Optional: these headers need HDF5 and libzip (Debian: libhdf5-dev, libzip-dev); link the
// CMake target xkeras::keras_files. Including this header in a program makes the core's
// functions handle Keras files as well as xkeras's own:
//   xkeras::load_model("m.keras")       architecture, compile config, weights, optimizer state
//   model.load_weights("m.weights.h5")  weights (also out of a .keras)
//   model.save("m.keras")               what Keras 3's model.save writes
//   model.save_weights("m.weights.h5")  what Keras 3's model.save_weights writes
// Loading tells a Keras file by its first bytes; saving by the name (`.keras`, `.weights.h5`).
// xkeras's own `.xk` format still keeps what Keras files cannot (the shuffling and Dropout
// streams of an exact resume).
#pragma once

#include "io/atomic_file.hpp"
#include "keras_files/hdf5.hpp"
#include "keras_files/hdf5_writer.hpp"
#include "keras_files/keras3.hpp"
#include "keras_files/keras3_writer.hpp"
#include "keras_files/zip.hpp"
#include "keras_files/zip_writer.hpp"

namespace xkeras::keras_files {

namespace detail {

inline bool is_zip(const std::string& bytes) {
    return bytes.compare(0, 2, "PK") == 0;
}

template <class T>
void load_weights_bytes(basic_sequential<T>& m, const std::string& bytes, const std::string& name) {
    if (is_zip(bytes)) {
        const zip::archive z(bytes, name);
        if (!z.has("model.weights.h5"))
            throw io_error("'" + name + "' is a zip archive without model.weights.h5");
        load_keras3_weights(m, hdf5::file(z.read("model.weights.h5"), name + ": model.weights.h5"));
        return;
    }
    load_keras3_weights(m, hdf5::file(bytes, name));
}

template <class T>
basic_sequential<T> load_model_bytes(const std::string& bytes, const std::string& name) {
    if (!is_zip(bytes))
        throw io_error("'" + name +
                       "' is an HDF5 file; load_model reads .keras files (Keras 2's .h5 models "
                       "are not read yet); a .weights.h5 file goes to model.load_weights");
    return load_dot_keras<T>(bytes, name);
}

inline bool ends_with(const std::string& s, const std::string& tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

template <class T>
void save(const basic_sequential<T>& m, const std::filesystem::path& path) {
    if (path.extension() != ".keras")
        throw io_error("'" + path.string() +
                       "': xkeras writes Keras 3's .keras files; Keras 2's .h5 model files are "
                       "not written yet (save as .keras, or as .xk for xkeras's own format)");
    io::atomic_write(path, dot_keras_bytes(m));
}

template <class T>
void save_weights(const basic_sequential<T>& m, const std::filesystem::path& path) {
    // Keras 3 asks the same of its save_weights
    if (!ends_with(path.filename().string(), ".weights.h5"))
        throw io_error("'" + path.string() +
                       "': Keras 3's weights files end in .weights.h5; Keras 2's other .h5 "
                       "weights files are not written yet");
    io::atomic_write(path, keras3_weights_bytes(m));
}

template <class T>
bool install() {
    io::keras_formats<T> = {&load_model_bytes<T>, &load_weights_bytes<T>, &save<T>,
                            &save_weights<T>};
    return true;
}

/// Fills the core's slots (io/keras_formats.hpp) when the program starts.
inline const bool installed = install<float>() && install<double>();

}  // namespace detail

}  // namespace xkeras::keras_files
