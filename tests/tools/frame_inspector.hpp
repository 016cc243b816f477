// Turns one dequeued spa_buffer into the "frame" JSON event, validating every field a producer
// controls, and writes the pixels of a valid picture to a dump file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <spa/buffer/buffer.h>

#include "consumer_params.hpp"
#include "json_line.hpp"

namespace vmcast_tools {

// Validated location of a picture's pixels inside a mapped buffer.
struct PictureView {
    const uint8_t *first_row = nullptr;
    uint32_t stride = 0; // bytes between rows, at least width * 4
    uint32_t width = 0;
    uint32_t height = 0;
};

struct InspectedBuffer {
    JsonObject frame_event;            // {"event":"frame",...}
    std::vector<std::string> problems; // one "bad-buffer" reason each
    std::optional<PictureView> picture;
    std::optional<uint64_t> header_seq;
    std::optional<uint64_t> damage_px; // summed area of the damage rectangles; unset: no meta
};

// Inspects `buffer`. `mapped_data` is the CPU-visible start of datas[0] (already including
// mapoffset) or nullptr when it could not be mapped; `index` is the consumer's frame counter.
InspectedBuffer inspect_buffer(const spa_buffer &buffer, const uint8_t *mapped_data,
                               const std::optional<NegotiatedFormat> &format, uint64_t index);

// Reads the sequence stamp a benchmark peer draws as 4 grey pixels at (x..x+3, y): pixel i
// carries byte i of the seq, least significant first. Returns nullopt unless all 4 pixels lie
// inside the picture.
std::optional<uint32_t> read_stamp(const PictureView &picture, uint32_t x, uint32_t y);

// Writes "VMCASTFRAME <w> <h> <format> <seq>\n" and tightly packed rows to `path`.tmp, then
// renames it to `path` so readers never see a partial file.
bool write_frame_dump(const std::string &path, const PictureView &picture, const char *format_name,
                      uint64_t seq, std::string &error);

} // namespace vmcast_tools
