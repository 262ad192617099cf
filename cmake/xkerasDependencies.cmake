# Finds xkeras's dependencies; used by the build and by the installed xkerasConfig.cmake.
include(CMakeFindDependencyMacro)
find_dependency(xtensor)
find_dependency(xtensor-blas)
find_dependency(nlohmann_json 3)
find_dependency(ZLIB)
# OpenBLAS: its CMake config (Debian's) gives variables, not a target; wrap them in one.
if(NOT TARGET xkeras_openblas)
  find_package(OpenBLAS CONFIG QUIET)
  if(NOT OpenBLAS_FOUND)
    find_package(BLAS REQUIRED)
    set(OpenBLAS_LIBRARIES ${BLAS_LIBRARIES})
  endif()
  find_path(XKERAS_CBLAS_INCLUDE_DIR cblas.h HINTS ${OpenBLAS_INCLUDE_DIRS}
            PATH_SUFFIXES openblas REQUIRED)
  add_library(xkeras_openblas INTERFACE IMPORTED)
  set_target_properties(xkeras_openblas PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${XKERAS_CBLAS_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES "${OpenBLAS_LIBRARIES}")
endif()
