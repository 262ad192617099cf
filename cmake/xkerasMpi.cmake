# xkeras::mpi - data-parallel training over MPI (include/xkeras/distribution/mpi.hpp), which needs
# an MPI implementation (Debian: libopenmpi-dev openmpi-bin). Defined only when MPI is found; used
# by the build and by the installed xkerasConfig.cmake. The core library (xkeras::xkeras) never
# needs MPI: it knows the Communicator interface only. GLOBAL, so that a parent project using
# add_subdirectory sees it too.
if(NOT TARGET xkeras::mpi)
  find_package(MPI QUIET COMPONENTS CXX)
  if(MPI_CXX_FOUND)
    add_library(xkeras::mpi INTERFACE IMPORTED GLOBAL)
    target_link_libraries(xkeras::mpi INTERFACE xkeras::xkeras MPI::MPI_CXX)
  endif()
endif()
