# signet-setup --help and --version print and exit 0 without opening the GUI. Run as
#   cmake -DSETUP=<path to signet-setup> -P setup_cli_test.cmake
# The environment names a platform plugin that cannot start without a display (xcb, no DISPLAY):
# had the program created its QApplication it would abort instead of printing; the timeout catches
# a window that opened anyway.
if(NOT SETUP)
  message(FATAL_ERROR "SETUP (the signet-setup binary) is not set")
endif()
set(ENV{QT_QPA_PLATFORM} "xcb")
unset(ENV{DISPLAY})
unset(ENV{WAYLAND_DISPLAY})

function(expect args pattern)
  execute_process(COMMAND "${SETUP}" ${args} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 20)
  if(NOT rc STREQUAL "0")
    message(FATAL_ERROR "signet-setup ${args}: exit status ${rc} (expected 0)\nstdout: ${out}\nstderr: ${err}")
  endif()
  if(NOT out MATCHES "${pattern}")
    message(FATAL_ERROR "signet-setup ${args}: stdout does not match \"${pattern}\"\nstdout: ${out}\nstderr: ${err}")
  endif()
  message(STATUS "signet-setup ${args}: exit 0, ${out}")
endfunction()

expect("--help" "Usage: signet-setup \\[options\\].*--version")
expect("-h" "Usage: signet-setup")
expect("--version" "^signet-setup [0-9]+\\.[0-9]+\\.[0-9]+ \\(OpenSSL 3[^,]*, SQLite 3\\.[0-9.]+\\)\n$")
expect("-v" "^signet-setup [0-9]+\\.[0-9]+")
