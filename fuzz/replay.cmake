# Replays the committed fuzz corpora (fuzz/corpus/<target>/) through every fuzz target,
# built as an ordinary executable with fuzz/replay_main.c instead of libFuzzer, one CTest
# test per target. Included from the top-level CMakeLists.txt when tests are built, so the
# corpora run in every test build, including the ASan+UBSan one.
file(GLOB RADI_FUZZ_TARGETS CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/fuzz_*.c)
foreach(src ${RADI_FUZZ_TARGETS})
  get_filename_component(name ${src} NAME_WE)        # fuzz_schema
  string(REGEX REPLACE "^fuzz_" "" short ${name})    # schema
  set(corpus ${CMAKE_CURRENT_LIST_DIR}/corpus/${short})
  if(NOT IS_DIRECTORY ${corpus})
    message(WARNING "fuzz target ${name} has no corpus at ${corpus}; no replay test")
    continue()
  endif()
  add_executable(replay_${short} ${src} ${CMAKE_CURRENT_LIST_DIR}/replay_main.c)
  if(short STREQUAL "csv")  # the CLI's parser is compiled in (not in the library)
    target_sources(replay_${short} PRIVATE ${CMAKE_SOURCE_DIR}/src/cli/csv.c)
  endif()
  target_link_libraries(replay_${short} PRIVATE radi_static)
  add_test(NAME fuzz_replay_${short} COMMAND replay_${short} ${corpus})
  set_tests_properties(fuzz_replay_${short} PROPERTIES TIMEOUT 300)
endforeach()
