#include "frame/letterbox.h"

#include <algorithm>

#include <libyuv.h>

namespace vmcast::frame {

Rect letterbox(Size picture, Size frame) {
    // The picture is wider than the frame when picture.w / picture.h > frame.w / frame.h.
    const uint64_t wide = uint64_t(picture.width) * frame.height;
    const uint64_t tall = uint64_t(picture.height) * frame.width;
    uint64_t width = frame.width;
    uint64_t height = frame.height;
    if (wide > tall)
        height = (uint64_t(picture.height) * frame.width + picture.width / 2) / picture.width;
    else if (wide < tall)
        width = (uint64_t(picture.width) * frame.height + picture.height / 2) / picture.height;
    width = std::clamp<uint64_t>(width, 1, frame.width);
    height = std::clamp<uint64_t>(height, 1, frame.height);
    const auto even_offset = [](uint64_t space) { return int32_t((space / 2) & ~uint64_t(1)); };
    return {even_offset(frame.width - width), even_offset(frame.height - height), int32_t(width),
            int32_t(height)};
}

LetterboxedFrame::LetterboxedFrame(Size picture, Size frame)
    : picture_(picture), frame_(frame), fitted_(letterbox(picture, frame)),
      pixels_(size_t(frame.width) * 4 * frame.height) {
    for (size_t i = 3; i < pixels_.size(); i += 4)
        pixels_[i] = 0xff;
}

void LetterboxedFrame::draw(const uint8_t *pixels, size_t stride) {
    // B,G,R,X bytes are what libyuv calls ARGB. Box filtering averages all the pixels a
    // smaller picture takes each of its pixels from (text stays readable), and is bilinear
    // when scaling up.
    uint8_t *target = pixels_.data() + size_t(fitted_.y) * this->stride() + size_t(fitted_.x) * 4;
    libyuv::ARGBScale(pixels, int(stride), int(picture_.width), int(picture_.height), target,
                      int(this->stride()), fitted_.width, fitted_.height, libyuv::kFilterBox);
}

} // namespace vmcast::frame
