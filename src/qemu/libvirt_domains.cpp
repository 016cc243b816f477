#include "qemu/libvirt_domains.h"

#include <libvirt-glib/libvirt-glib.h>
#include <libvirt/virterror.h>

#include <cstdlib>

#include <vector>

namespace vmcast::qemu {
namespace {

constexpr guint kReconnectIntervalMs = 2000;

// libvirt prints every error on stderr unless told otherwise; vmcast reports them itself.
void ignore_libvirt_error(void *, virErrorPtr) {}

void setup_libvirt_once() {
    static const bool done = [] {
        gvir_event_register();
        virSetErrorFunc(nullptr, ignore_libvirt_error);
        return true;
    }();
    (void)done;
}

std::string last_libvirt_error() {
    const char *message = virGetLastErrorMessage();
    return message ? message : "unknown libvirt error";
}

struct DomainFree {
    void operator()(virDomainPtr domain) const { virDomainFree(domain); }
};
using DomainPtr = std::unique_ptr<virDomain, DomainFree>;

} // namespace

std::unique_ptr<LibvirtDomains> LibvirtDomains::connect(const std::string &uri, Events events,
                                                        std::string &error) {
    setup_libvirt_once();
    std::unique_ptr<LibvirtDomains> domains(new LibvirtDomains(uri, std::move(events)));
    if (!domains->open(error))
        return nullptr;
    return domains;
}

LibvirtDomains::~LibvirtDomains() {
    close();
}

bool LibvirtDomains::open(std::string &error) {
    // Read-write is needed only to open p2p displays; buses need no more than read-only.
    connection_.reset(virConnectOpen(uri_.c_str()));
    read_only_ = !connection_;
    if (read_only_) {
        const std::string read_write_error = last_libvirt_error();
        connection_.reset(virConnectOpenReadOnly(uri_.c_str()));
        if (!connection_) {
            error = "cannot connect to libvirt at " + uri_ + ": " + read_write_error;
            return false;
        }
        g_message("libvirt at %s allows vmcast only to read (%s): domains with "
                  "<graphics type='dbus' p2p='yes'/> cannot be shown",
                  uri_.c_str(), read_write_error.c_str());
    }
    lifecycle_callback_ =
        virConnectDomainEventRegisterAny(connection_.get(), nullptr, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                         VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), this, nullptr);
    if (lifecycle_callback_ < 0) {
        error = "cannot follow libvirt's domain events at " + uri_ + ": " + last_libvirt_error();
        connection_.reset();
        return false;
    }
    if (virConnectRegisterCloseCallback(connection_.get(), on_connection_closed, this, nullptr) < 0)
        g_warning("libvirt at %s cannot say when its connection closes: vmcast will not notice "
                  "a restart of the libvirt daemon (%s)",
                  uri_.c_str(), last_libvirt_error().c_str());
    return true;
}

void LibvirtDomains::close() {
    if (!connection_)
        return;
    virConnectUnregisterCloseCallback(connection_.get(), on_connection_closed);
    if (lifecycle_callback_ >= 0)
        virConnectDomainEventDeregisterAny(connection_.get(), lifecycle_callback_);
    lifecycle_callback_ = -1;
    connection_.reset();
}

void LibvirtDomains::start() {
    reconcile();
}

void LibvirtDomains::reconcile() {
    virDomainPtr *listed = nullptr;
    const int count =
        virConnectListAllDomains(connection_.get(), &listed, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
    if (count < 0) {
        g_warning("cannot list libvirt's domains: %s", last_libvirt_error().c_str());
        return;
    }
    std::vector<DomainPtr> domains;
    for (int i = 0; i < count; i++)
        domains.emplace_back(listed[i]);
    free(listed);
    std::map<std::string, unsigned int> running_now;
    for (const DomainPtr &domain : domains)
        running_now[virDomainGetName(domain.get())] = virDomainGetID(domain.get());
    for (auto known = running_.begin(); known != running_.end();) {
        auto next = std::next(known);
        auto now = running_now.find(known->first);
        if (now == running_now.end() || now->second != known->second)
            domain_stopped(known->first);
        known = next;
    }
    for (const DomainPtr &domain : domains)
        domain_started(domain.get());
}

void LibvirtDomains::domain_started(virDomainPtr domain) {
    const std::string name = virDomainGetName(domain);
    // Listed and announced by an event both, when it started while vmcast was listing.
    if (running_.contains(name))
        return;
    std::unique_ptr<char, decltype(&free)> xml(virDomainGetXMLDesc(domain, 0), free);
    if (!xml) {
        g_warning("cannot read domain '%s': %s", name.c_str(), last_libvirt_error().c_str());
        return;
    }
    std::string why;
    std::optional<DomainDisplay> display = domain_display(xml.get(), why);
    if (!display) {
        g_info("domain '%s' is not shown: %s", name.c_str(), why.c_str());
        return;
    }
    const unsigned int id = virDomainGetID(domain);
    if (auto *on_bus = std::get_if<DisplayOnBus>(&*display)) {
        running_[name] = id;
        events_.running(name, *on_bus);
        return;
    }
    if (read_only_) {
        g_warning("domain '%s' has a p2p display, which libvirt opens only for read-write "
                  "connections",
                  name.c_str());
        return;
    }
    const uint32_t index = std::get<DisplayPeerToPeer>(*display).graphics_index;
    UniqueFd socket(virDomainOpenGraphicsFD(domain, index, 0));
    if (!socket.valid()) {
        g_warning("cannot open the display of domain '%s': %s", name.c_str(),
                  last_libvirt_error().c_str());
        return;
    }
    running_[name] = id;
    events_.running(name, std::move(socket));
}

void LibvirtDomains::domain_stopped(const std::string &name) {
    if (running_.erase(name))
        events_.stopped(name);
}

int LibvirtDomains::on_lifecycle(virConnectPtr, virDomainPtr domain, int event, int, void *data) {
    auto *self = static_cast<LibvirtDomains *>(data);
    if (event == VIR_DOMAIN_EVENT_STARTED)
        self->domain_started(domain);
    else if (event == VIR_DOMAIN_EVENT_STOPPED)
        self->domain_stopped(virDomainGetName(domain));
    else if (event == VIR_DOMAIN_EVENT_DEFINED || event == VIR_DOMAIN_EVENT_UNDEFINED)
        g_info("domain '%s' %s", virDomainGetName(domain),
               event == VIR_DOMAIN_EVENT_DEFINED ? "defined" : "undefined");
    return 0;
}

void LibvirtDomains::on_connection_closed(virConnectPtr, int, void *data) {
    auto *self = static_cast<LibvirtDomains *>(data);
    if (self->reconnect_)
        return;
    g_warning("lost the connection to libvirt at %s; the domains' displays stay, and vmcast "
              "connects again",
              self->uri_.c_str());
    // Not closed from inside libvirt's own callback: the timer does it.
    self->reconnect_ = attach_timeout(kReconnectIntervalMs, on_reconnect_timer, self);
}

gboolean LibvirtDomains::on_reconnect_timer(gpointer data) {
    auto *self = static_cast<LibvirtDomains *>(data);
    self->close();
    std::string error;
    if (!self->open(error))
        return G_SOURCE_CONTINUE;
    g_message("connected to libvirt at %s again", self->uri_.c_str());
    self->reconnect_.reset(); // destroying the running source is allowed; it is not run again
    self->reconcile();
    return G_SOURCE_REMOVE;
}

} // namespace vmcast::qemu
