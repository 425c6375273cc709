# signet-setup's command line without a display. Run as
#   cmake -DSETUP=<path to signet-setup> -P setup_cli_test.cmake
# --help and --version print and exit 0 without opening the GUI; a wrong command line exits with 1
# (an unknown option) or 2 (an unexpected argument), and a run without a display says so and exits
# with 1. All of that happens before the program creates its QApplication, which would abort
# (SIGABRT, exit 134) without a display: the environment has none, and for the first checks names a
# platform plugin that cannot start without one (xcb, no DISPLAY). The timeout catches a window
# that opened anyway.
if(NOT SETUP)
  message(FATAL_ERROR "SETUP (the signet-setup binary) is not set")
endif()
set(ENV{QT_QPA_PLATFORM} "xcb")
unset(ENV{DISPLAY})
unset(ENV{WAYLAND_DISPLAY})

# Runs signet-setup with args; expects the exit status and stdout (status 0) or stderr to match.
function(expect_status args status pattern)
  execute_process(COMMAND "${SETUP}" ${args} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 20)
  if(DEFINED ENV{QT_QPA_PLATFORM})
    set(where "signet-setup ${args} (QT_QPA_PLATFORM=$ENV{QT_QPA_PLATFORM}, no display)")
  else()
    set(where "signet-setup ${args} (no display, no QT_QPA_PLATFORM)")
  endif()
  if(NOT rc STREQUAL "${status}")
    message(FATAL_ERROR "${where}: exit status ${rc} (expected ${status})\nstdout: ${out}\nstderr: ${err}")
  endif()
  if(status STREQUAL "0")
    set(stream "stdout")
    set(text "${out}")
  else()
    set(stream "stderr")
    set(text "${err}")
  endif()
  if(NOT text MATCHES "${pattern}")
    message(FATAL_ERROR "${where}: ${stream} does not match \"${pattern}\"\nstdout: ${out}\nstderr: ${err}")
  endif()
  message(STATUS "${where}: exit ${rc}, ${text}")
endfunction()

function(expect args pattern)
  expect_status("${args}" 0 "${pattern}")
endfunction()

expect("--help" "Usage: signet-setup \\[options\\].*--version")
expect("-h" "Usage: signet-setup")
expect("--version" "^signet-setup [0-9]+\\.[0-9]+\\.[0-9]+ \\(OpenSSL 3[^,]*, SQLite 3\\.[0-9.]+\\)\n$")
expect("-v" "^signet-setup [0-9]+\\.[0-9]+")

# A wrong command line is reported before Qt looks for a display (xcb, no DISPLAY: it would abort).
expect_status("--bogus" 1 "^signet-setup: Unknown option 'bogus'\\.\n$")
expect_status("extra" 2 "^signet-setup: unexpected argument \"extra\" \\(see --help\\)\n$")
expect_status("-platform" 1 "^signet-setup: Missing value after '-platform'\\.\n$")

# No display at all: neither DISPLAY nor WAYLAND_DISPLAY, and no platform chosen.
unset(ENV{QT_QPA_PLATFORM})
set(no_display "^signet-setup: no display \\(DISPLAY and WAYLAND_DISPLAY are unset\\): run it in a graphical session, or use `signet setup --answers FILE` on a server without one\n$")
expect_status("" 1 "${no_display}")
expect_status("--bogus" 1 "^signet-setup: Unknown option 'bogus'\\.\n$")
expect_status("--bogus;extra" 1 "^signet-setup: Unknown option 'bogus'\\.\n$")
expect_status("extra" 2 "^signet-setup: unexpected argument \"extra\" \\(see --help\\)\n$")
expect_status("--version;extra" 0 "^signet-setup [0-9]+\\.[0-9]+")
# Qt's own options are accepted, with their values (Fusion is no argument of signet-setup's).
expect_status("-style;Fusion" 1 "${no_display}")
expect_status("--style=Fusion;-reverse" 1 "${no_display}")
expect_status("-style;Fusion;extra" 2 "^signet-setup: unexpected argument \"extra\" ")
# A platform chosen on the command line is left to Qt, after the command line is checked.
expect_status("-platform;offscreen;--bogus" 1 "^signet-setup: Unknown option 'bogus'\\.\n$")
# Qt takes -platform VALUE only, not -platform=VALUE: that form does not skip the display check.
expect_status("-platform=offscreen" 1 "${no_display}")
