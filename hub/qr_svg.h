// The enrolment command as a QR code the technician scans from the
// dashboard (libqrencode), drawn as a small SVG image: one path, one
// horizontal run of dark modules per segment, a 4-module quiet zone.
#pragma once

#include <string>
#include <string_view>

namespace terril {

// An SVG document encoding `text` (byte mode, error correction level M).
// "" when the text does not fit a QR code or libqrencode fails (the
// dashboard then shows the command as text only).
std::string qr_svg(std::string_view text);

}  // namespace terril
