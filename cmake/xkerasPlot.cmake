# xkeras::plot - the optional plotting headers (include/xkeras/plot/: training curves, digit grids,
# confusion matrices as PNG / SVG), which need cairo (Debian: libcairo2-dev). Defined only when
# cairo is found; used by the build and by the installed xkerasConfig.cmake. The core library
# (xkeras::xkeras) never needs cairo. GLOBAL, so that a parent project using add_subdirectory
# sees it too.
if(NOT TARGET xkeras::plot)
  find_package(PkgConfig QUIET)
  if(PKG_CONFIG_FOUND)
    pkg_check_modules(XKERAS_CAIRO QUIET IMPORTED_TARGET GLOBAL cairo)
  endif()
  if(XKERAS_CAIRO_FOUND)
    add_library(xkeras::plot INTERFACE IMPORTED GLOBAL)
    target_link_libraries(xkeras::plot INTERFACE xkeras::xkeras PkgConfig::XKERAS_CAIRO)
  endif()
endif()
