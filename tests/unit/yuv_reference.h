// The YUV tests' reference: colours computed in floating point straight from the BT.601 and
// BT.709 definitions, an encoder for the round trip, and comparisons that say what differs.
#pragma once

#include <cmath>
#include <cstdint>
#include <ostream>
#include <sstream>
#include <string>

#include "frame/yuv.h"

namespace vmcast::frame {

struct Rgb {
    int r;
    int g;
    int b;
};

// Exact channel values, 0..255 but not rounded.
struct Colour {
    double r;
    double g;
    double b;
};

inline std::ostream &operator<<(std::ostream &out, const Colour &colour) {
    return out << "RGB(" << colour.r << "," << colour.g << "," << colour.b << ")";
}

struct Weights {
    double kr;
    double kb;
};

inline Weights weights(YuvMatrix matrix) {
    return matrix == YuvMatrix::Bt601 ? Weights{0.299, 0.114} : Weights{0.2126, 0.0722};
}

// From the definitions: Y' = kr R + kg G + kb B, Pb = (B - Y') / (2 (1 - kb)),
// Pr = (R - Y') / (2 (1 - kr)); limited range codes Y' as 16 + 219 Y' and Pb, Pr as
// 128 + 224 P, full range as 255 Y' and 128 + 255 P.
inline Colour reference_colour(int y_code, int u_code, int v_code, YuvColorimetry colorimetry) {
    const auto [kr, kb] = weights(colorimetry.matrix);
    const bool limited = colorimetry.range == YuvRange::Limited;
    const double y = limited ? (y_code - 16) / 219.0 : y_code / 255.0;
    const double pb = (u_code - 128) / (limited ? 224.0 : 255.0);
    const double pr = (v_code - 128) / (limited ? 224.0 : 255.0);
    const double r = y + 2 * (1 - kr) * pr;
    const double b = y + 2 * (1 - kb) * pb;
    const double g = (y - kr * r - kb * b) / (1 - kr - kb);
    const auto channel = [](double value) { return std::clamp(value, 0.0, 1.0) * 255; };
    return {channel(r), channel(g), channel(b)};
}

struct Yuv {
    uint8_t y;
    uint8_t u;
    uint8_t v;
};

// The BT.709 limited-range encoding of an RGB colour, rounded to the nearest codes.
inline Yuv encode_bt709_limited(Rgb rgb) {
    const auto [kr, kb] = weights(YuvMatrix::Bt709);
    const double r = rgb.r / 255.0;
    const double g = rgb.g / 255.0;
    const double b = rgb.b / 255.0;
    const double y = kr * r + (1 - kr - kb) * g + kb * b;
    const double pb = (b - y) / (2 * (1 - kb));
    const double pr = (r - y) / (2 * (1 - kr));
    const auto code = [](double value) {
        return uint8_t(std::lround(std::clamp(value, 0.0, 255.0)));
    };
    return {code(16 + 219 * y), code(128 + 224 * pb), code(128 + 224 * pr)};
}

// Whether the pixel's B, G, R are each within tolerance of colour and A is 0xff.
inline bool matches(const uint8_t *bgra, Colour colour, double tolerance) {
    return std::abs(bgra[2] - colour.r) <= tolerance && std::abs(bgra[1] - colour.g) <= tolerance &&
           std::abs(bgra[0] - colour.b) <= tolerance && bgra[3] == 0xff;
}

// Empty when the pixel matches, else why not.
inline std::string mismatch(const uint8_t *bgra, Colour colour, double tolerance) {
    if (matches(bgra, colour, tolerance)) {
        return {};
    }
    const Colour got{double(bgra[2]), double(bgra[1]), double(bgra[0])};
    std::ostringstream why;
    why.precision(10);
    why << "expected " << colour << " (+-" << tolerance << ") alpha 255, got " << got << " alpha "
        << int(bgra[3]);
    return why.str();
}

inline std::string mismatch(const uint8_t *bgra, Rgb rgb, double tolerance) {
    return mismatch(bgra, Colour{double(rgb.r), double(rgb.g), double(rgb.b)}, tolerance);
}

} // namespace vmcast::frame
