# Builds and runs tests/consumer against xkeras: MODE=find_package installs xkeras into a
# temporary prefix first; MODE=add_subdirectory uses the source tree directly.
set(build ${WORK_DIR}/${MODE})
file(REMOVE_RECURSE ${build})
file(MAKE_DIRECTORY ${build})

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
endfunction()

if(MODE STREQUAL "find_package")
  run(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${build}/xkeras -DXKERAS_BUILD_TESTS=OFF
      -DXKERAS_BUILD_EXAMPLES=OFF -DXKERAS_BUILD_BENCHMARKS=OFF -DCMAKE_INSTALL_PREFIX=${build}/prefix)
  run(${CMAKE_COMMAND} --install ${build}/xkeras)
  if(NOT EXISTS ${build}/prefix/include/xkeras/xkeras.hpp)
    message(FATAL_ERROR "install did not put the headers in ${build}/prefix/include/xkeras")
  endif()
  run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/consumer -B ${build}/consumer
      -DCMAKE_PREFIX_PATH=${build}/prefix -DCMAKE_BUILD_TYPE=Release)
else()
  run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/consumer -B ${build}/consumer
      -DXKERAS_SOURCE_DIR=${SOURCE_DIR} -DCMAKE_BUILD_TYPE=Release)
endif()
cmake_host_system_information(RESULT cores QUERY NUMBER_OF_LOGICAL_CORES)
run(${CMAKE_COMMAND} --build ${build}/consumer --parallel ${cores})
run(${build}/consumer/consumer ${build}/xor.xk)
run(${build}/consumer/consumer_predictor ${build}/xor.xk)
run(${build}/consumer/consumer_header_only)
# xkeras::xkeras's promise: the float classes are compiled in its library, not in the user's
# file. Dense's forward is the witness: defined in the header-only program's main.cpp object,
# absent from the other's.
find_program(NM nm)
if(NM)
  foreach(program consumer consumer_header_only)
    file(GLOB_RECURSE object ${build}/consumer/CMakeFiles/${program}.dir/main.cpp.o)
    execute_process(COMMAND ${NM} -C --defined-only ${object} OUTPUT_VARIABLE symbols)
    string(FIND "${symbols}" "xkeras::layers::Dense<float>::forward(" at)
    if(program STREQUAL "consumer" AND NOT at EQUAL -1)
      message(FATAL_ERROR "${object} defines Dense<float>::forward: xkeras::xkeras did not "
                          "keep the float classes out of the user's file")
    elseif(program STREQUAL "consumer_header_only" AND at EQUAL -1)
      message(FATAL_ERROR "${object} does not define Dense<float>::forward: the witness no "
                          "longer shows where the float classes are compiled")
    endif()
  endforeach()
endif()
if(EXISTS ${build}/consumer/consumer_plot)
  run(${build}/consumer/consumer_plot ${build}/curves.png)
  if(NOT EXISTS ${build}/curves.png)
    message(FATAL_ERROR "consumer_plot (xkeras::plot) did not write ${build}/curves.png")
  endif()
endif()
message(STATUS "consumer (${MODE}) built and ran")
