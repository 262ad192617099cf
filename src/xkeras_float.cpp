// src/xkeras_float.cpp - the library's float classes (Sequential, the layers, losses, metrics,
// optimizers and callbacks), compiled once: the one source file of the static library behind
// the CMake target xkeras::xkeras (cmake/xkerasFloat.cmake). Every file that links the target
// sees XKERAS_PRECOMPILED, under which <xkeras/xkeras.hpp> declares these classes extern
// (extern_templates.hpp) and leaves their members to this file.
#include <xkeras/instantiate.hpp>
