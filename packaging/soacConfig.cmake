# soacConfig.cmake: find_package(soac) for soac, the schema compiler, and
# libsoa, its runtime.
#
#   find_package(soac 0.1 REQUIRED)
#   add_executable(game main.c)
#   soac_generate(TARGET game SCHEMAS physics.soa)   # game can #include "physics.h"
#   target_link_libraries(game PRIVATE soac::soa)
#
# Imported targets:
#   soac::soac        the compiler (an executable)
#   soac::soa         libsoa with its include directory: the static library,
#                     or the shared one when SOAC_USE_SHARED is ON
#   soac::soa_static  libsoa.a          soac::soa_shared  libsoa.so
#
# soac_generate(TARGET <target> SCHEMAS <file.soa>...
#               [INCLUDE_DIRS <dir>...] [OUT_DIR <dir>])
#   Runs soac on each schema at build time, writing <name>.h into OUT_DIR
#   (default: <current binary dir>/soac_gen/<target>), adds the headers to
#   the target's sources and OUT_DIR to its include directories (PUBLIC).
#   INCLUDE_DIRS become soac's -I (relative: to the current source dir).
#   soac's --depfile lists every schema a header read, so editing an
#   included schema regenerates exactly the headers that include it.
#   Call it in the directory that created the target.
#
# The package is relocatable: every path is found from this file's place
# (<prefix>/lib/cmake/soac/).

if(CMAKE_VERSION VERSION_LESS 3.20)
  set(soac_FOUND FALSE)
  set(soac_NOT_FOUND_MESSAGE
      "soac needs CMake 3.20 or newer (DEPFILE on add_custom_command), this is ${CMAKE_VERSION}")
  return()
endif()

get_filename_component(_soac_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)

set(_soac_missing "")
foreach(_soac_file bin/soac lib/libsoa.a include/soa/soa.h)
  if(NOT EXISTS "${_soac_prefix}/${_soac_file}")
    list(APPEND _soac_missing "${_soac_prefix}/${_soac_file}")
  endif()
endforeach()
if(_soac_missing)
  set(soac_FOUND FALSE)
  set(soac_NOT_FOUND_MESSAGE "this soac install is incomplete, missing: ${_soac_missing}")
  return()
endif()

# (find_dependency returns from this file when Threads is missing.)
include(CMakeFindDependencyMacro)
find_dependency(Threads)

# soac_generate records these policies (CMP0116: DEPFILE paths) for its
# add_custom_command, whatever the caller's cmake_minimum_required.
cmake_policy(PUSH)
cmake_policy(VERSION 3.20...3.25)

# Imported targets are per directory: a find_package in another directory
# makes its own.
if(NOT TARGET soac::soac)
  add_executable(soac::soac IMPORTED)
  set_target_properties(soac::soac PROPERTIES
    IMPORTED_LOCATION "${_soac_prefix}/bin/soac")
endif()

if(NOT TARGET soac::soa_static)
  add_library(soac::soa_static STATIC IMPORTED)
  set_target_properties(soac::soa_static PROPERTIES
    IMPORTED_LOCATION "${_soac_prefix}/lib/libsoa.a"
    IMPORTED_LINK_INTERFACE_LANGUAGES "C"
    INTERFACE_INCLUDE_DIRECTORIES "${_soac_prefix}/include"
    INTERFACE_LINK_LIBRARIES "Threads::Threads")
endif()

if(NOT TARGET soac::soa_shared AND EXISTS "${_soac_prefix}/lib/libsoa.so")
  add_library(soac::soa_shared SHARED IMPORTED)
  set_target_properties(soac::soa_shared PROPERTIES
    IMPORTED_LOCATION "${_soac_prefix}/lib/libsoa.so"
    INTERFACE_INCLUDE_DIRECTORIES "${_soac_prefix}/include"
    INTERFACE_LINK_LIBRARIES "Threads::Threads")
endif()

if(NOT TARGET soac::soa)
  add_library(soac::soa INTERFACE IMPORTED)
  if(SOAC_USE_SHARED)
    if(NOT TARGET soac::soa_shared)
      message(FATAL_ERROR "SOAC_USE_SHARED is ON but ${_soac_prefix}/lib/libsoa.so is not installed")
    endif()
    set_target_properties(soac::soa PROPERTIES INTERFACE_LINK_LIBRARIES soac::soa_shared)
  else()
    set_target_properties(soac::soa PROPERTIES INTERFACE_LINK_LIBRARIES soac::soa_static)
  endif()
endif()

function(soac_generate)
  cmake_parse_arguments(PARSE_ARGV 0 _sg "" "TARGET;OUT_DIR" "SCHEMAS;INCLUDE_DIRS")
  if(_sg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "soac_generate: unknown arguments: ${_sg_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT _sg_TARGET)
    message(FATAL_ERROR "soac_generate: TARGET <target> is required")
  endif()
  if(NOT TARGET "${_sg_TARGET}")
    message(FATAL_ERROR "soac_generate: there is no target '${_sg_TARGET}': "
                        "create it (add_executable, add_library) before soac_generate")
  endif()
  get_target_property(_sg_dir "${_sg_TARGET}" SOURCE_DIR)
  if(NOT _sg_dir STREQUAL CMAKE_CURRENT_SOURCE_DIR)
    message(FATAL_ERROR "soac_generate: call it in ${_sg_dir}, where '${_sg_TARGET}' "
                        "was created (a generated source belongs to one directory)")
  endif()
  if(NOT _sg_SCHEMAS)
    message(FATAL_ERROR "soac_generate: SCHEMAS needs at least one .soa file")
  endif()
  if(_sg_OUT_DIR)
    get_filename_component(_sg_out "${_sg_OUT_DIR}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_BINARY_DIR}")
  else()
    set(_sg_out "${CMAKE_CURRENT_BINARY_DIR}/soac_gen/${_sg_TARGET}")
  endif()
  file(MAKE_DIRECTORY "${_sg_out}")

  set(_sg_flags "")
  foreach(_sg_inc IN LISTS _sg_INCLUDE_DIRS)
    get_filename_component(_sg_inc "${_sg_inc}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    list(APPEND _sg_flags -I "${_sg_inc}")
  endforeach()

  set(_sg_headers "")
  foreach(_sg_schema IN LISTS _sg_SCHEMAS)
    get_filename_component(_sg_schema "${_sg_schema}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    if(NOT EXISTS "${_sg_schema}")
      message(FATAL_ERROR "soac_generate: no schema ${_sg_schema}")
    endif()
    get_filename_component(_sg_name "${_sg_schema}" NAME_WLE)
    set(_sg_header "${_sg_out}/${_sg_name}.h")
    if(_sg_header IN_LIST _sg_headers)
      message(FATAL_ERROR "soac_generate: two schemas named ${_sg_name}.soa would both write "
                          "${_sg_header}; generate them with separate calls and OUT_DIRs")
    endif()
    # The depfile names the header and every schema it read (absolute
    # paths, since soac is given absolute ones), so CMake reruns soac when
    # an included schema changes, not only the one listed here.
    add_custom_command(
      OUTPUT "${_sg_header}"
      COMMAND soac::soac ${_sg_flags} --depfile "${_sg_header}.d" -o "${_sg_header}" "${_sg_schema}"
      DEPENDS "${_sg_schema}" "$<TARGET_FILE:soac::soac>"
      DEPFILE "${_sg_header}.d"
      COMMENT "soac: ${_sg_name}.soa -> ${_sg_header}"
      VERBATIM)
    list(APPEND _sg_headers "${_sg_header}")
  endforeach()

  target_sources("${_sg_TARGET}" PRIVATE ${_sg_headers})
  get_target_property(_sg_type "${_sg_TARGET}" TYPE)
  if(_sg_type STREQUAL "INTERFACE_LIBRARY")
    target_include_directories("${_sg_TARGET}" INTERFACE "${_sg_out}")
  else()
    target_include_directories("${_sg_TARGET}" PUBLIC "${_sg_out}")
  endif()
endfunction()

unset(_soac_prefix)
unset(_soac_missing)
unset(_soac_file)
cmake_policy(POP)
