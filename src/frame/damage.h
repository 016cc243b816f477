// Rectangle and damage-region arithmetic shared by the listener, compositor and stream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <pixman.h>

namespace vmcast::frame {

struct Rect {
    int32_t x = 0;
    int32_t y = 0;
    int32_t width = 0;
    int32_t height = 0;

    bool empty() const { return width <= 0 || height <= 0; }
    uint64_t area() const { return empty() ? 0 : uint64_t(width) * uint64_t(height); }
    bool operator==(const Rect &) const = default;
};

Rect intersect(const Rect &a, const Rect &b);
// Smallest rectangle holding both; an empty argument is ignored.
Rect bounding_box(const Rect &a, const Rect &b);
// The part of r inside a width x height surface (empty when none).
Rect clip_to_surface(const Rect &r, uint32_t width, uint32_t height);
// The same rectangle in a surface of the given height whose rows are stored bottom-up.
Rect flip_y(const Rect &r, uint32_t surface_height);

// A set of damaged pixels (owning wrapper of pixman_region32_t).
class DamageRegion {
  public:
    DamageRegion();
    explicit DamageRegion(const Rect &r);
    DamageRegion(const DamageRegion &other);
    DamageRegion(DamageRegion &&other) noexcept;
    DamageRegion &operator=(const DamageRegion &other);
    DamageRegion &operator=(DamageRegion &&other) noexcept;
    ~DamageRegion();

    void add(const Rect &r);
    void add(const DamageRegion &other);
    void clear();
    void clip_to_surface(uint32_t width, uint32_t height);

    bool empty() const;
    Rect extents() const;
    // Sum of the areas of the region's rectangles (pixels counted once).
    uint64_t area() const;
    std::vector<Rect> rects() const;
    // At most max_rects rectangles (max_rects >= 1) covering the region: when the region has
    // more, the first max_rects - 1 are kept and the last holds the bounding box of the rest.
    std::vector<Rect> rects_limited(size_t max_rects) const;

    pixman_region32_t *native() { return &region_; }
    const pixman_region32_t *native() const { return &region_; }

  private:
    pixman_region32_t region_;
};

} // namespace vmcast::frame
