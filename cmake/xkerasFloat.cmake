# xkeras::xkeras - the headers (xkeras::headers) plus the library's float classes compiled once,
# in a static library of the consumer's own build: one source file (src/xkeras_float.cpp,
# installed next to this file) compiled with the consumer's compiler and flags, so that
# sanitizers, -march and the standard library's debug modes always match the code that uses
# it. Every file that links the target gets XKERAS_PRECOMPILED, under which <xkeras/xkeras.hpp>
# declares the float classes extern (xkeras/extern_templates.hpp): a program compiles them once
# instead of once per source file. Built only when a target links it. Used by the build
# (CMakeLists.txt) and by the installed xkerasConfig.cmake; XKERAS_FLOAT_SOURCE names the source.
if(NOT TARGET xkeras::xkeras)
  add_library(xkeras_float STATIC EXCLUDE_FROM_ALL "${XKERAS_FLOAT_SOURCE}")
  target_link_libraries(xkeras_float PUBLIC xkeras::headers)
  target_compile_definitions(xkeras_float PUBLIC XKERAS_PRECOMPILED)
  add_library(xkeras::xkeras ALIAS xkeras_float)
endif()
