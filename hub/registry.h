// Forwarding header, to be deleted once every include names the new path: the
// node registry moved to common/store/hub_registry.h.
#pragma once

#include "common/store/hub_registry.h"
