// xkeras/keras_files/entry_points.hpp - the four functions that fill the core's slots for Keras's
// files (io/keras_formats.hpp): load_model_bytes, load_weights_bytes, save, save_weights, and
// install<T>(), which puts them in the slots of element type T. keras_files.hpp installs them
// for float and double when the program starts; the inference-only library
// (src/xkeras_predictor.cpp) installs the float ones only, so that no double model code is linked.
#pragma once

#include "../io/atomic_file.hpp"
#include "../io/keras_formats.hpp"
#include "hdf5.hpp"
#include "hdf5_writer.hpp"
#include "keras3.hpp"
#include "keras3_writer.hpp"
#include "legacy.hpp"
#include "legacy_writer.hpp"
#include "zip.hpp"
#include "zip_writer.hpp"

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

}  // namespace detail

}  // namespace xkeras::keras_files
