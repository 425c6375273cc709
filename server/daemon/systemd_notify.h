// sd_notify(3) without libsystemd: sends a state datagram ("READY=1", "RELOADING=1",
// "STOPPING=1", "STATUS=...") to the socket named by $NOTIFY_SOCKET, when it is set. A name that
// starts with '@' is an abstract socket.
//
// Thread-safety: reentrant (one socket per call).
#pragma once

#include <string>
#include <string_view>

namespace signet::daemon {

// Sends `state` (one or more "KEY=value" lines). Returns false when $NOTIFY_SOCKET is unset or
// the send failed; never throws: the daemon works the same without systemd.
bool sd_notify(std::string_view state);

// "RELOADING=1\nMONOTONIC_USEC=..." as systemd's Type=notify-reload wants it.
[[nodiscard]] std::string reloading_state();

}  // namespace signet::daemon
