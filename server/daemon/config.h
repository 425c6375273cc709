// The daemon's configuration lives in common/ so that the CLI reads the same file the same way.
#pragma once

#include "signet/setup/daemon_config.h"
