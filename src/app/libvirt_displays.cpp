#include "app/libvirt_displays.h"

namespace vmcast::app {

std::unique_ptr<LibvirtDisplays> LibvirtDisplays::start(const std::string &uri, Fleet &fleet,
                                                        std::string &error) {
    std::unique_ptr<LibvirtDisplays> displays(new LibvirtDisplays(fleet));
    LibvirtDisplays *self = displays.get();
    displays->domains_ = qemu::LibvirtDomains::connect(
        uri,
        qemu::LibvirtDomains::Events{
            .running =
                [self](const std::string &domain, qemu::DomainDisplayEnd display) {
                    self->domain_running(domain, std::move(display));
                },
            .stopped =
                [self](const std::string &domain) {
                    g_info("domain '%s' stopped", domain.c_str());
                    self->links_.erase(domain);
                }},
        error);
    if (!displays->domains_)
        return nullptr;
    displays->domains_->start();
    return displays;
}

void LibvirtDisplays::domain_running(const std::string &domain, qemu::DomainDisplayEnd display) {
    const std::string where = std::holds_alternative<qemu::DisplayOnBus>(display)
                                  ? std::get<qemu::DisplayOnBus>(display).address
                                  : "";
    auto done = [this, domain, where](GObjectPtr<GDBusConnection> connection, std::string error) {
        connected(domain, where, std::move(connection), error);
    };
    std::unique_ptr<qemu::PendingDisplayConnection> pending;
    std::string error;
    if (!where.empty())
        pending = qemu::PendingDisplayConnection::bus(where, done);
    else
        pending = qemu::PendingDisplayConnection::peer(std::move(std::get<UniqueFd>(display)), done,
                                                       error);
    if (!pending) {
        g_warning("domain '%s': %s", domain.c_str(), error.c_str());
        return;
    }
    g_info("domain '%s' runs; joining its display%s%s", domain.c_str(), where.empty() ? "" : " on ",
           where.c_str());
    links_[domain] = std::move(pending);
}

void LibvirtDisplays::connected(const std::string &domain, const std::string &where,
                                GObjectPtr<GDBusConnection> connection, const std::string &error) {
    auto found = links_.find(domain);
    if (!connection) {
        // libvirt's private bus admits only the user its dbus-daemon runs as: QEMU's.
        g_warning("cannot show domain '%s': %s%s", domain.c_str(), error.c_str(),
                  where.empty() ? ""
                                : " (libvirt's per-domain bus admits only the user QEMU runs "
                                  "as: run vmcast as that user, or give the domain "
                                  "<graphics type='dbus' p2p='yes'/>)");
        // Not erased here: this runs inside the pending connection's callback.
        return;
    }
    found->second = std::make_unique<DisplayLink>(std::move(connection), fleet_);
}

} // namespace vmcast::app
