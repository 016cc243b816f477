#include "frame_inspector.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <spa/buffer/meta.h>

namespace vmcast_tools {

namespace {

// True when the rectangle lies inside a width x height frame (64-bit math: no overflow).
bool region_inside(const spa_region &region, uint32_t width, uint32_t height) {
    return region.position.x >= 0 && region.position.y >= 0 &&
           static_cast<int64_t>(region.position.x) + region.size.width <= width &&
           static_cast<int64_t>(region.position.y) + region.size.height <= height;
}

JsonArray region_json(const spa_region &region) {
    JsonArray array;
    array.add(region.position.x).add(region.position.y);
    array.add(region.size.width).add(region.size.height);
    return array;
}

// Damage rectangles up to the first invalid (zero-sized) entry, which marks the end of the list.
// Also sums their areas into `damage_px`, which stays unset without the meta.
std::string damage_json(const spa_buffer &buffer, const std::optional<NegotiatedFormat> &format,
                        std::vector<std::string> &problems, std::optional<uint64_t> &damage_px) {
    spa_meta *meta = spa_buffer_find_meta(&buffer, SPA_META_VideoDamage);
    if (!meta)
        return "null";
    JsonArray rects;
    uint64_t area = 0;
    spa_meta_region *region;
    spa_meta_for_each(region, meta) {
        if (!spa_meta_region_is_valid(region))
            break;
        if (format && !region_inside(region->region, format->width, format->height))
            problems.push_back("damage rectangle outside the frame");
        rects.add_raw(region_json(region->region).str());
        area += uint64_t{region->region.size.width} * region->region.size.height;
    }
    damage_px = area;
    return rects.str();
}

std::string crop_json(const spa_buffer &buffer, const std::optional<NegotiatedFormat> &format,
                      std::vector<std::string> &problems) {
    auto *crop = static_cast<spa_meta_region *>(
        spa_buffer_find_meta_data(&buffer, SPA_META_VideoCrop, sizeof(spa_meta_region)));
    if (!crop)
        return "null";
    if (format && !region_inside(crop->region, format->width, format->height))
        problems.push_back("crop rectangle outside the frame");
    return region_json(crop->region).str();
}

bool any_nonzero(const uint8_t *rows, uint32_t stride, uint32_t row_bytes, uint32_t height) {
    for (uint32_t y = 0; y < height; ++y) {
        const uint8_t *row = rows + static_cast<size_t>(y) * stride;
        for (uint32_t x = 0; x < row_bytes; ++x) {
            if (row[x] != 0)
                return true;
        }
    }
    return false;
}

// The cursor meta, following spa/buffer/meta.h: bitmap_offset 0 = no new bitmap, bitmap format
// 0 = no bitmap information, bitmap offset 0 = invisible cursor. All offsets are checked against
// the meta size before anything is read.
std::string cursor_json(const spa_buffer &buffer, std::vector<std::string> &problems) {
    spa_meta *meta = spa_buffer_find_meta(&buffer, SPA_META_Cursor);
    if (!meta)
        return "null";
    if (meta->size < sizeof(spa_meta_cursor) || !meta->data) {
        problems.push_back("cursor meta smaller than spa_meta_cursor");
        return "null";
    }
    const auto *cursor = static_cast<const spa_meta_cursor *>(meta->data);
    JsonObject object;
    object.add("id", cursor->id).add("flags", cursor->flags);
    object.add("x", cursor->position.x).add("y", cursor->position.y);
    object.add("hotspot", JsonArray().add(cursor->hotspot.x).add(cursor->hotspot.y));

    std::string bitmap = "null";
    std::string bitmap_format = "null";
    bool bitmap_nonzero = false;
    const uint64_t meta_size = meta->size;
    const uint64_t bitmap_offset = cursor->bitmap_offset;
    if (bitmap_offset != 0) {
        if (bitmap_offset < sizeof(spa_meta_cursor) ||
            bitmap_offset + sizeof(spa_meta_bitmap) > meta_size) {
            problems.push_back("cursor bitmap_offset outside the cursor meta");
        } else {
            const auto *bits = reinterpret_cast<const spa_meta_bitmap *>(
                static_cast<const uint8_t *>(meta->data) + bitmap_offset);
            if (spa_meta_bitmap_is_valid(bits)) {
                const char *name = video_format_name(bits->format);
                bitmap_format = name ? json_quote(name) : std::to_string(bits->format);
                bitmap = JsonArray().add(bits->size.width).add(bits->size.height).str();
                const uint64_t row_bytes = uint64_t{bits->size.width} * kBytesPerPixel;
                const uint64_t pixels_at = bitmap_offset + bits->offset;
                if (bits->offset == 0 || bits->size.width == 0 || bits->size.height == 0) {
                    // Invisible cursor: no pixel data.
                } else if (bits->offset < sizeof(spa_meta_bitmap) || bits->stride < 0 ||
                           static_cast<uint64_t>(bits->stride) < row_bytes ||
                           pixels_at + uint64_t(bits->stride) * (bits->size.height - 1) +
                                   row_bytes >
                               meta_size) {
                    problems.push_back("cursor bitmap pixels outside the cursor meta");
                } else {
                    bitmap_nonzero =
                        any_nonzero(static_cast<const uint8_t *>(meta->data) + pixels_at,
                                    static_cast<uint32_t>(bits->stride),
                                    static_cast<uint32_t>(row_bytes), bits->size.height);
                }
            }
        }
    }
    object.add_raw("bitmap", bitmap).add_raw("bitmap_format", bitmap_format);
    object.add("bitmap_nonzero", bitmap_nonzero);
    return object.str();
}

// Checks that a picture fits the chunk and the mapping; returns its view or records why not.
std::optional<PictureView> validate_picture(const spa_data &data, const uint8_t *mapped_data,
                                            const std::optional<NegotiatedFormat> &format,
                                            std::vector<std::string> &problems) {
    if (!format || !video_format_name(format->spa_format) || format->width == 0 ||
        format->height == 0) {
        problems.push_back("picture without a usable negotiated format");
        return std::nullopt;
    }
    if (!mapped_data) {
        problems.push_back("data is NULL (buffer not mapped)");
        return std::nullopt;
    }
    const spa_chunk &chunk = *data.chunk;
    const uint64_t row_bytes = uint64_t{format->width} * kBytesPerPixel;
    if (chunk.stride < 0) {
        problems.push_back("negative chunk stride");
        return std::nullopt;
    }
    // A zero stride means "tightly packed", as several producers leave it unset.
    const uint64_t stride = chunk.stride == 0 ? row_bytes : static_cast<uint64_t>(chunk.stride);
    if (stride < row_bytes) {
        problems.push_back("chunk stride smaller than width*4");
        return std::nullopt;
    }
    const uint64_t needed = stride * (format->height - 1) + row_bytes;
    if (needed > chunk.size) {
        problems.push_back("chunk size smaller than the picture (stride*(height-1)+width*4)");
        return std::nullopt;
    }
    if (uint64_t{chunk.offset} + chunk.size > data.maxsize) {
        return std::nullopt; // already reported by the caller
    }
    PictureView view;
    view.first_row = mapped_data + chunk.offset;
    view.stride = static_cast<uint32_t>(stride);
    view.width = format->width;
    view.height = format->height;
    return view;
}

} // namespace

InspectedBuffer inspect_buffer(const spa_buffer &buffer, const uint8_t *mapped_data,
                               const std::optional<NegotiatedFormat> &format, uint64_t index) {
    InspectedBuffer result;
    JsonObject &frame = result.frame_event;
    frame = json_event("frame");
    frame.add("index", index);

    auto *header = static_cast<spa_meta_header *>(
        spa_buffer_find_meta_data(&buffer, SPA_META_Header, sizeof(spa_meta_header)));
    if (header) {
        result.header_seq = header->seq;
        frame.add("seq", header->seq).add("pts", header->pts).add("header_flags", header->flags);
    } else {
        frame.add("seq", nullptr).add("pts", nullptr).add("header_flags", nullptr);
    }

    const spa_data *data = buffer.n_datas > 0 ? &buffer.datas[0] : nullptr;
    const spa_chunk *chunk = data ? data->chunk : nullptr;
    if (!data)
        result.problems.push_back("buffer has no data planes");
    else if (!chunk)
        result.problems.push_back("data has no chunk");
    if (chunk) {
        frame.add("chunk_size", chunk->size).add("chunk_flags", chunk->flags);
        frame.add("chunk_offset", chunk->offset).add("chunk_stride", chunk->stride);
        if (uint64_t{chunk->offset} + chunk->size > data->maxsize)
            result.problems.push_back("chunk offset+size exceeds maxsize");
    } else {
        frame.add("chunk_size", nullptr).add("chunk_flags", nullptr);
        frame.add("chunk_offset", nullptr).add("chunk_stride", nullptr);
    }
    if (data)
        frame.add("data_type", data_type_name(data->type)).add("maxsize", data->maxsize);
    else
        frame.add("data_type", nullptr).add("maxsize", nullptr);

    if (format) {
        frame.add("width", format->width).add("height", format->height);
        frame.add("format", video_format_name(format->spa_format));
    } else {
        frame.add("width", nullptr).add("height", nullptr).add("format", nullptr);
    }

    // A picture carries pixels: chunk size > 0 and no CORRUPTED flag. Size 0 + chunk CORRUPTED is
    // the cursor-only convention; header CORRUPTED marks data the producer itself disowns.
    const bool header_corrupted = header && (header->flags & SPA_META_HEADER_FLAG_CORRUPTED);
    if (chunk && chunk->size > 0 && !(chunk->flags & SPA_CHUNK_FLAG_CORRUPTED) &&
        !header_corrupted) {
        result.picture = validate_picture(*data, mapped_data, format, result.problems);
    }
    frame.add("picture", result.picture.has_value());
    frame.add_raw("damage", damage_json(buffer, format, result.problems, result.damage_px));
    frame.add_raw("crop", crop_json(buffer, format, result.problems));
    frame.add_raw("cursor", cursor_json(buffer, result.problems));
    return result;
}

std::optional<uint32_t> read_stamp(const PictureView &picture, uint32_t x, uint32_t y) {
    constexpr uint32_t kStampPixels = 4;
    // validate_picture checked the whole width x height picture against the chunk and the
    // mapping, so staying inside the picture keeps every read inside the chunk.
    if (uint64_t{x} + kStampPixels > picture.width || y >= picture.height)
        return std::nullopt;
    const uint8_t *pixel =
        picture.first_row + size_t{y} * picture.stride + size_t{x} * kBytesPerPixel;
    // The peer writes R=G=B, and G is byte 1 in BGRx, BGRA, RGBx and RGBA alike: no format
    // lookup is needed.
    uint32_t stamp = 0;
    for (uint32_t i = 0; i < kStampPixels; ++i)
        stamp |= uint32_t{pixel[i * kBytesPerPixel + 1]} << (8 * i);
    return stamp;
}

bool write_frame_dump(const std::string &path, const PictureView &picture, const char *format_name,
                      uint64_t seq, std::string &error) {
    const std::string tmp_path = path + ".tmp";
    FILE *file = std::fopen(tmp_path.c_str(), "wb");
    if (!file) {
        error = "cannot open " + tmp_path + ": " + std::strerror(errno);
        return false;
    }
    bool ok = std::fprintf(file, "VMCASTFRAME %u %u %s %llu\n", picture.width, picture.height,
                           format_name, static_cast<unsigned long long>(seq)) > 0;
    const size_t row_bytes = size_t{picture.width} * kBytesPerPixel;
    for (uint32_t y = 0; ok && y < picture.height; ++y) {
        const uint8_t *row = picture.first_row + size_t{y} * picture.stride;
        ok = std::fwrite(row, 1, row_bytes, file) == row_bytes;
    }
    if (std::fclose(file) != 0)
        ok = false;
    if (!ok) {
        error = "cannot write " + tmp_path + ": " + std::strerror(errno);
        std::remove(tmp_path.c_str());
        return false;
    }
    if (std::rename(tmp_path.c_str(), path.c_str()) != 0) {
        error = "cannot rename " + tmp_path + ": " + std::strerror(errno);
        std::remove(tmp_path.c_str());
        return false;
    }
    return true;
}

} // namespace vmcast_tools
