// src/xkeras_keras_files.cpp - the readers and writers of Keras's files (xkeras/keras_files.hpp)
// for float and double models, compiled once: the one source file of the static library behind
// the CMake target xkeras::keras_files (cmake/xkerasKerasFiles.cmake). Every file that links the
// target sees XKERAS_PRECOMPILED_KERAS_FILES, under which keras_files.hpp declares them extern.
#include <xkeras/keras_files.hpp>

namespace xkeras::keras_files::detail {
XKERAS_DETAIL_KERAS_FILES_FUNCTIONS(, float)
XKERAS_DETAIL_KERAS_FILES_FUNCTIONS(, double)
}  // namespace xkeras::keras_files::detail
