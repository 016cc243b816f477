// A picture shown in a frame of another size, as a camera of fixed size shows a console that
// was resized: scaled with its aspect kept, centred, black bars on the sides left over.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "frame/damage.h"

namespace vmcast::frame {

struct Size {
    uint32_t width = 0;
    uint32_t height = 0;
    bool operator==(const Size &) const = default;
};

// Where a picture of size picture goes in a frame of size frame: as large as fits with the
// picture's aspect, centred, at least 1x1. Offsets are even, so consumers that subsample
// chroma 2x2 (I420 encoders) see the picture's edge on a chroma sample's edge. Both sizes
// must be at least 1x1.
Rect letterbox(Size picture, Size frame);

// A frame of size frame, tightly packed B,G,R,A bytes, showing a picture letterboxed: the
// bars are opaque black from the start, and draw() scales a picture in.
class LetterboxedFrame {
  public:
    LetterboxedFrame(Size picture, Size frame);

    // Scales pixels (B,G,R,X bytes of the picture's size, rows stride apart) into fitted().
    void draw(const uint8_t *pixels, size_t stride);

    const Rect &fitted() const { return fitted_; }
    const uint8_t *pixels() const { return pixels_.data(); }
    size_t stride() const { return size_t(frame_.width) * 4; }

  private:
    Size picture_;
    Size frame_;
    Rect fitted_;
    std::vector<uint8_t> pixels_;
};

} // namespace vmcast::frame
