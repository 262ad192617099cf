# xkeras::keras_files - the optional headers that read Keras's own files (include/xkeras/
# keras_files/: `.keras` zips and `.weights.h5`), which need HDF5 and libzip (Debian:
# libhdf5-dev, libzip-dev). Defined only when both are found; used by the build and by the
# installed xkerasConfig.cmake. The core library (xkeras::xkeras) never needs them. As
# xkeras::xkeras (xkerasFloat.cmake) does for the core, the target compiles the readers and
# writers once, in a static library of the consumer's build (XKERAS_KERAS_FILES_SOURCE,
# src/xkeras_keras_files.cpp), and its users see XKERAS_PRECOMPILED_KERAS_FILES.
if(NOT TARGET xkeras::keras_files)
  find_package(PkgConfig QUIET)
  if(PKG_CONFIG_FOUND)
    pkg_check_modules(XKERAS_HDF5 QUIET IMPORTED_TARGET GLOBAL hdf5)
    pkg_check_modules(XKERAS_LIBZIP QUIET IMPORTED_TARGET GLOBAL libzip)
  endif()
  if(XKERAS_HDF5_FOUND AND XKERAS_LIBZIP_FOUND)
    add_library(xkeras_keras_files STATIC EXCLUDE_FROM_ALL "${XKERAS_KERAS_FILES_SOURCE}")
    target_link_libraries(xkeras_keras_files PUBLIC xkeras::xkeras PkgConfig::XKERAS_HDF5
                          PkgConfig::XKERAS_LIBZIP)
    target_compile_definitions(xkeras_keras_files PUBLIC XKERAS_PRECOMPILED_KERAS_FILES)
    add_library(xkeras::keras_files ALIAS xkeras_keras_files)
  endif()
endif()
