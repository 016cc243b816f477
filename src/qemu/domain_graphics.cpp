#include "qemu/domain_graphics.h"

#include <cstring>
#include <vector>

#include <glib.h>

#include "common/glib_ptr.h"

namespace vmcast::qemu {
namespace {

// Reads the first <domain><devices><graphics type='dbus'> and counts the <graphics> before it.
struct GraphicsSearch {
    std::vector<std::string> path; // the open elements
    uint32_t graphics_seen = 0;
    std::optional<DomainDisplay> found;
    std::string why;
};

const char *attribute(const gchar **names, const gchar **values, const char *wanted) {
    for (size_t i = 0; names[i]; i++)
        if (strcmp(names[i], wanted) == 0)
            return values[i];
    return nullptr;
}

bool is_yes(const char *value) {
    return value && (strcmp(value, "yes") == 0 || strcmp(value, "on") == 0);
}

void read_graphics(GraphicsSearch &search, const gchar **names, const gchar **values) {
    const uint32_t index = search.graphics_seen++;
    const char *type = attribute(names, values, "type");
    if (search.found || !type || strcmp(type, "dbus") != 0)
        return;
    if (is_yes(attribute(names, values, "p2p"))) {
        search.found = DisplayPeerToPeer{index};
        return;
    }
    const char *address = attribute(names, values, "address");
    if (!address || !*address) {
        search.why = "its dbus graphics has no bus address (is the domain running?)";
        return;
    }
    // libvirt's own buses are unix sockets; anything else is not what libvirt would write.
    if (!g_str_has_prefix(address, "unix:") || !g_dbus_is_supported_address(address, nullptr)) {
        search.why =
            std::string("its dbus graphics has an address vmcast does not use: ") + address;
        return;
    }
    search.found = DisplayOnBus{address};
}

void on_start_element(GMarkupParseContext *, const gchar *element, const gchar **names,
                      const gchar **values, gpointer data, GError **) {
    auto &search = *static_cast<GraphicsSearch *>(data);
    const auto &path = search.path;
    if (strcmp(element, "graphics") == 0 && path.size() == 2 && path[0] == "domain" &&
        path[1] == "devices")
        read_graphics(search, names, values);
    search.path.emplace_back(element);
}

void on_end_element(GMarkupParseContext *, const gchar *, gpointer data, GError **) {
    static_cast<GraphicsSearch *>(data)->path.pop_back();
}

} // namespace

std::optional<DomainDisplay> domain_display(std::string_view xml, std::string &why) {
    const GMarkupParser parser{on_start_element, on_end_element, nullptr, nullptr, nullptr};
    GraphicsSearch search;
    GMarkupParseContext *context =
        g_markup_parse_context_new(&parser, G_MARKUP_DEFAULT_FLAGS, &search, nullptr);
    GError *raw_error = nullptr;
    const bool parsed =
        g_markup_parse_context_parse(context, xml.data(), gssize(xml.size()), &raw_error) &&
        g_markup_parse_context_end_parse(context, &raw_error);
    g_markup_parse_context_free(context);
    GErrorPtr error(raw_error);
    if (!parsed) {
        why = std::string("its XML does not parse: ") + error->message;
        return std::nullopt;
    }
    if (!search.found)
        why = search.why.empty() ? "it has no <graphics type='dbus'/>" : search.why;
    return search.found;
}

} // namespace vmcast::qemu
