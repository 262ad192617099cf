// xkeras/keras_files.hpp - Keras's own model files, read and written: `.keras` and
// `.weights.h5` (Keras 3), and the legacy HDF5 `.h5` files of Keras 2 and tf.keras.
//
// Optional: these headers need HDF5 and libzip (Debian: libhdf5-dev, libzip-dev); link the
// CMake target xkeras::keras_files. Including this header in a program makes the core's
// functions handle Keras files as well as xkeras's own:
//   xkeras::load_model("m.keras")       architecture, compile config, weights, optimizer state
//   xkeras::load_model("m.h5")          the same from a legacy full-model file
//   model.load_weights("m.weights.h5")  weights (also out of a .keras, or a legacy .h5)
//   model.save("m.keras")               what Keras 3's model.save writes
//   model.save("m.h5")                  what Keras 3's model.save writes for .h5 (legacy)
//   model.save_weights("m.weights.h5")  what Keras 3's model.save_weights writes
//   model.save_weights("m.h5")          what Keras 2's save_weights writes for .h5 (legacy)
// Loading tells a Keras file by its first bytes and, for HDF5, by its groups; saving by the
// name (`.keras`; `.weights.h5`; other `.h5` and `.hdf5`). xkeras's own `.xk` format still keeps
// what Keras files cannot (the shuffling and Dropout streams of an exact resume).
#pragma once

#include "io/atomic_file.hpp"
#include "keras_files/hdf5.hpp"
#include "keras_files/hdf5_writer.hpp"
#include "keras_files/keras3.hpp"
#include "keras_files/keras3_writer.hpp"
#include "keras_files/legacy.hpp"
#include "keras_files/legacy_writer.hpp"
#include "keras_files/zip.hpp"
#include "keras_files/zip_writer.hpp"

namespace xkeras::keras_files {

namespace detail {

inline bool is_zip(const std::string& bytes) {
    return bytes.compare(0, 2, "PK") == 0;
}

/// Whether an HDF5 file is laid out as Keras 3's weights (a /layers group) rather than as a
/// legacy file.
inline bool is_keras3_weights(const hdf5::file& f) {
    const hdf5::group root = f.root();
    return root.has("layers") && !root.has_attribute("layer_names") && !root.has("model_weights");
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
    const hdf5::file f(bytes, name);
    if (is_keras3_weights(f))
        load_keras3_weights(m, f);
    else
        load_legacy_weights_file(m, f);
}

template <class T>
basic_sequential<T> load_model_bytes(const std::string& bytes, const std::string& name) {
    if (is_zip(bytes)) return load_dot_keras<T>(bytes, name);
    return load_legacy_model<T>(bytes, name);
}

inline bool ends_with(const std::string& s, const std::string& tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

template <class T>
void save(const basic_sequential<T>& m, const std::filesystem::path& path) {
    // as Keras 3's model.save: .keras is the zip, .h5 and .hdf5 the legacy file
    io::atomic_write(path,
                     path.extension() == ".keras" ? dot_keras_bytes(m) : legacy_model_bytes(m));
}

template <class T>
void save_weights(const basic_sequential<T>& m, const std::filesystem::path& path) {
    if (ends_with(path.filename().string(), ".weights.h5"))
        io::atomic_write(path, keras3_weights_bytes(m));
    else if (path.extension() == ".h5" || path.extension() == ".hdf5")
        io::atomic_write(path, legacy_weights_bytes(m));
    else
        throw io_error("'" + path.string() +
                       "': Keras's weights files end in .weights.h5 (Keras 3) or .h5 (Keras 2); "
                       "a .keras file holds a whole model: use save");
}

/// The readers and writers that fill the core's slots, for element type T, as explicit
/// instantiations preceded by E: `extern` declares them, empty defines them.
#define XKERAS_DETAIL_KERAS_FILES_FUNCTIONS(E, T)                                               \
    E template basic_sequential<T> load_model_bytes<T>(const std::string&, const std::string&); \
    E template void load_weights_bytes<T>(basic_sequential<T>&, const std::string&,             \
                                          const std::string&);                                  \
    E template void save<T>(const basic_sequential<T>&, const std::filesystem::path&);          \
    E template void save_weights<T>(const basic_sequential<T>&, const std::filesystem::path&);

// A program linked with the CMake target xkeras::keras_files compiles them once, in the
// target's static library (src/xkeras_keras_files.cpp), not in every file that includes this one.
#ifdef XKERAS_PRECOMPILED_KERAS_FILES
XKERAS_DETAIL_KERAS_FILES_FUNCTIONS(extern, float)
XKERAS_DETAIL_KERAS_FILES_FUNCTIONS(extern, double)
#endif

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
