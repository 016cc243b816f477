// Validation and set-up of the consoles a stream command drives; see stream_target.hpp.
#include "stream_target.hpp"

namespace fakeqemu {

Target make_target(Console &con, const std::string &path, RegionKind region) {
    if (path != "map" && path != "update" && !path.empty())
        throw CommandError(kBadCommand, "path: expected update or map");
    const std::string where = " on console " + std::to_string(con.index);
    Target t;
    t.con = &con;
    uint32_t width = 0, height = 0;
    uint64_t stride = 0;
    if (con.last == ScanoutKind::Map) {
        const MapState &m = con.map;
        const uint64_t need = uint64_t{m.offset} + uint64_t{m.stride} * m.height;
        if (!m.fd.valid() || fd_size(m.fd.get()) < need || need == 0)
            throw CommandError(kBadCommand, "the map is smaller than its surface" + where);
        t.mapping = Mapping(m.fd.get(), need);
        t.canvas.base = t.mapping.data() + m.offset;
        width = m.width, height = m.height, stride = m.stride, t.format = m.format;
        t.via_map = path != "update";
    } else if (con.last == ScanoutKind::Scanout) {
        Surface2D &s = con.surface;
        if (s.data.size() < uint64_t{s.stride} * s.height)
            throw CommandError(kBadCommand, "the surface is shorter than its rows" + where);
        t.canvas.base = s.data.data();
        width = s.width, height = s.height, stride = s.stride, t.format = s.format;
    } else {
        throw CommandError(kBadCommand, "no current scanout or scanout-map" + where);
    }
    if (path == "map" && !t.via_map)
        throw CommandError(kNotSupported, "path=map needs a current scanout-map" + where);
    auto layout = pixman_layout(t.format);
    if (!layout || layout->bytes != 4 || stride < uint64_t{width} * 4)
        throw CommandError(kBadCommand, "stream needs a 32-bit packed surface" + where);
    if (width < 4 || height < 1)
        throw CommandError(kBadCommand, "stream needs a surface at least 4 pixels wide" + where);
    t.canvas.stride = stride;
    t.canvas.width = width, t.canvas.height = height;
    t.canvas.layout = *layout;
    t.region = region_rect(region, width, height);
    return t;
}

} // namespace fakeqemu
