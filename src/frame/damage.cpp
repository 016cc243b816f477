#include "frame/damage.h"

#include <algorithm>
#include <limits>
#include <new>

namespace vmcast::frame {

namespace {

constexpr int64_t kInt32Min = std::numeric_limits<int32_t>::min();
constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();

int32_t clamp_to_int32(int64_t v) {
    return int32_t(std::clamp(v, kInt32Min, kInt32Max));
}

// Edges are computed in 64 bits because x + width can pass INT32_MAX; results that do not
// fit are clamped, which only trims rectangles no real surface can reach.
Rect from_edges(int64_t x1, int64_t y1, int64_t x2, int64_t y2) {
    if (x2 <= x1 || y2 <= y1) {
        return {};
    }
    const int32_t x = clamp_to_int32(x1);
    const int32_t y = clamp_to_int32(y1);
    return {x, y, clamp_to_int32(x2 - x), clamp_to_int32(y2 - y)};
}

int64_t right(const Rect &r) {
    return int64_t(r.x) + r.width;
}
int64_t bottom(const Rect &r) {
    return int64_t(r.y) + r.height;
}

Rect from_box(const pixman_box32_t &box) {
    return from_edges(box.x1, box.y1, box.x2, box.y2);
}

// pixman reports allocation failure by return value; vmcast treats it like operator new.
void check_allocation(pixman_bool_t ok) {
    if (!ok) {
        throw std::bad_alloc();
    }
}

} // namespace

Rect intersect(const Rect &a, const Rect &b) {
    if (a.empty() || b.empty()) {
        return {};
    }
    return from_edges(std::max(a.x, b.x), std::max(a.y, b.y), std::min(right(a), right(b)),
                      std::min(bottom(a), bottom(b)));
}

Rect bounding_box(const Rect &a, const Rect &b) {
    if (a.empty()) {
        return b.empty() ? Rect{} : b;
    }
    if (b.empty()) {
        return a;
    }
    return from_edges(std::min(a.x, b.x), std::min(a.y, b.y), std::max(right(a), right(b)),
                      std::max(bottom(a), bottom(b)));
}

Rect clip_to_surface(const Rect &r, uint32_t width, uint32_t height) {
    if (r.empty()) {
        return {};
    }
    // Surface edges past INT32_MAX cannot be addressed by a Rect anyway.
    return from_edges(std::max<int64_t>(r.x, 0), std::max<int64_t>(r.y, 0),
                      std::min({right(r), int64_t(width), kInt32Max}),
                      std::min({bottom(r), int64_t(height), kInt32Max}));
}

Rect flip_y(const Rect &r, uint32_t surface_height) {
    return {r.x, clamp_to_int32(int64_t(surface_height) - bottom(r)), r.width, r.height};
}

DamageRegion::DamageRegion() {
    pixman_region32_init(&region_);
}

DamageRegion::DamageRegion(const Rect &r) : DamageRegion() {
    add(r);
}

DamageRegion::DamageRegion(const DamageRegion &other) : DamageRegion() {
    *this = other;
}

// A pixman_region32_t is its extents plus a pointer to heap (or static) data, so it can be
// moved bitwise as long as the source is re-initialised and never finalised twice.
DamageRegion::DamageRegion(DamageRegion &&other) noexcept : region_(other.region_) {
    pixman_region32_init(&other.region_);
}

DamageRegion &DamageRegion::operator=(const DamageRegion &other) {
    check_allocation(pixman_region32_copy(&region_, &other.region_));
    return *this;
}

DamageRegion &DamageRegion::operator=(DamageRegion &&other) noexcept {
    if (this != &other) {
        pixman_region32_fini(&region_);
        region_ = other.region_;
        pixman_region32_init(&other.region_);
    }
    return *this;
}

DamageRegion::~DamageRegion() {
    pixman_region32_fini(&region_);
}

void DamageRegion::add(const Rect &r) {
    if (r.empty()) {
        return;
    }
    // pixman adds width to x in int arithmetic; keep the far edge representable.
    const Rect fitting =
        from_edges(r.x, r.y, std::min(right(r), kInt32Max), std::min(bottom(r), kInt32Max));
    if (fitting.empty()) {
        return;
    }
    check_allocation(pixman_region32_union_rect(&region_, &region_, fitting.x, fitting.y,
                                                uint32_t(fitting.width), uint32_t(fitting.height)));
}

void DamageRegion::add(const DamageRegion &other) {
    check_allocation(pixman_region32_union(&region_, &region_, &other.region_));
}

void DamageRegion::clear() {
    pixman_region32_clear(&region_);
}

void DamageRegion::clip_to_surface(uint32_t width, uint32_t height) {
    const Rect surface =
        from_edges(0, 0, std::min<int64_t>(width, kInt32Max), std::min<int64_t>(height, kInt32Max));
    if (surface.empty()) {
        clear();
        return;
    }
    check_allocation(pixman_region32_intersect_rect(
        &region_, &region_, 0, 0, uint32_t(surface.width), uint32_t(surface.height)));
}

bool DamageRegion::empty() const {
    return !pixman_region32_not_empty(&region_);
}

Rect DamageRegion::extents() const {
    return empty() ? Rect{} : from_box(*pixman_region32_extents(&region_));
}

uint64_t DamageRegion::area() const {
    uint64_t total = 0;
    int count = 0;
    const pixman_box32_t *boxes = pixman_region32_rectangles(&region_, &count);
    for (int i = 0; i < count; ++i) {
        total += uint64_t(int64_t(boxes[i].x2) - boxes[i].x1) *
                 uint64_t(int64_t(boxes[i].y2) - boxes[i].y1);
    }
    return total;
}

std::vector<Rect> DamageRegion::rects() const {
    int count = 0;
    const pixman_box32_t *boxes = pixman_region32_rectangles(&region_, &count);
    std::vector<Rect> result;
    result.reserve(size_t(count));
    for (int i = 0; i < count; ++i) {
        result.push_back(from_box(boxes[i]));
    }
    return result;
}

std::vector<Rect> DamageRegion::rects_limited(size_t max_rects) const {
    std::vector<Rect> all = rects();
    const size_t limit = std::max<size_t>(max_rects, 1);
    if (all.size() <= limit) {
        return all;
    }
    Rect rest;
    for (size_t i = limit - 1; i < all.size(); ++i) {
        rest = bounding_box(rest, all[i]);
    }
    all.resize(limit);
    all.back() = rest;
    return all;
}

} // namespace vmcast::frame
