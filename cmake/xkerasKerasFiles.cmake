# xkeras::keras_files - the optional headers that read Keras's own files (include/xkeras/
# keras_files/: `.keras` zips and `.weights.h5`), which need HDF5 and libzip (Debian:
# libhdf5-dev, libzip-dev). Defined only when both are found; used by the build and by the
# installed xkerasConfig.cmake. The core library (xkeras::xkeras) never needs them. GLOBAL, so
# that a parent project using add_subdirectory sees it too.
if(NOT TARGET xkeras::keras_files)
  find_package(PkgConfig QUIET)
  if(PKG_CONFIG_FOUND)
    pkg_check_modules(XKERAS_HDF5 QUIET IMPORTED_TARGET GLOBAL hdf5)
    pkg_check_modules(XKERAS_LIBZIP QUIET IMPORTED_TARGET GLOBAL libzip)
  endif()
  if(XKERAS_HDF5_FOUND AND XKERAS_LIBZIP_FOUND)
    add_library(xkeras::keras_files INTERFACE IMPORTED GLOBAL)
    target_link_libraries(xkeras::keras_files INTERFACE xkeras::xkeras PkgConfig::XKERAS_HDF5
                          PkgConfig::XKERAS_LIBZIP)
  endif()
endif()
