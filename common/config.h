// Moved: forwards to its new place (deleted once every include is updated).
#pragma once
#include "common/ops/config.h"
