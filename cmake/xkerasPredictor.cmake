# xkeras::predictor - the inference-only library (include/xkeras/predictor.hpp): load a saved
# model, predict. A static library of the consumer's own build, compiled from one source file
# (XKERAS_PREDICTOR_SOURCE, src/xkeras_predictor.cpp) with the consumer's compiler and flags; its
# users include only <xkeras/predictor.hpp>, which names nothing but the standard library, so
# they compile quickly. Its code is compiled with -ffunction-sections and -fdata-sections:
# linked with --gc-sections (as XKERAS_PREDICTOR_GC_SECTIONS, on by default, does for the
# programs that link it), a program keeps what loading and the forward pass reach (and what the
# layers' classes name) and drops the rest. With HDF5 and libzip (the xkeras::keras_files
# target), Keras's `.keras` and `.h5` files load as well. Used by the build (CMakeLists.txt) and
# the installed xkerasConfig.cmake, after xkerasKerasFiles.cmake.
if(NOT TARGET xkeras::predictor)
  add_library(xkeras_predictor STATIC EXCLUDE_FROM_ALL "${XKERAS_PREDICTOR_SOURCE}")
  # the headers privately: a user's file sees only predictor.hpp (the include directory) and
  # C++20 (std::span); the libraries the code calls follow at link time
  target_link_libraries(xkeras_predictor PRIVATE xkeras::headers)
  target_include_directories(xkeras_predictor INTERFACE
    $<TARGET_PROPERTY:xkeras::headers,INTERFACE_INCLUDE_DIRECTORIES>)
  target_compile_features(xkeras_predictor PUBLIC cxx_std_20)
  if(TARGET xkeras::keras_files)
    target_link_libraries(xkeras_predictor PRIVATE PkgConfig::XKERAS_HDF5 PkgConfig::XKERAS_LIBZIP)
    target_compile_definitions(xkeras_predictor PRIVATE XKERAS_PREDICTOR_KERAS_FILES)
  endif()
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(xkeras_predictor PRIVATE -ffunction-sections -fdata-sections)
    option(XKERAS_PREDICTOR_GC_SECTIONS
           "Link the programs that use xkeras::predictor with --gc-sections" ON)
    if(XKERAS_PREDICTOR_GC_SECTIONS)
      target_link_options(xkeras_predictor INTERFACE
        $<$<PLATFORM_ID:Linux>:LINKER:--gc-sections>)
    endif()
  endif()
  add_library(xkeras::predictor ALIAS xkeras_predictor)
endif()
