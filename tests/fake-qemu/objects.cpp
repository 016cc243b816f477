// The QEMU side of org.qemu.Display1: the VM and Console objects, their input methods, and
// the bus or peer-to-peer connection they are exported on.
#include "app.hpp"

#include <cstdio>

namespace fakeqemu {

namespace {

// --- Skeletons without the Interfaces property (QEMU 7.x / 8.0) ----------------------------
//
// gdbus-codegen skeletons expose every declared property. For old versions we derive a type
// whose GDBusInterfaceInfo lacks "Interfaces": GDBus then answers Get/GetAll/Introspect from
// that info, so reading the property fails with InvalidArgs "No such property", as on 7.2.

struct LegacyTypeData {
    GType parent = G_TYPE_INVALID;
    GDBusInterfaceInfo *info = nullptr;
    const char *hidden = nullptr;
};

GQuark legacy_quark() {
    return g_quark_from_static_string("vmcast-fake-qemu-legacy");
}

const LegacyTypeData *legacy_data(gpointer instance) {
    return static_cast<const LegacyTypeData *>(
        g_type_get_qdata(G_TYPE_FROM_INSTANCE(instance), legacy_quark()));
}

GDBusInterfaceInfo *legacy_get_info(GDBusInterfaceSkeleton *skeleton) {
    return legacy_data(skeleton)->info;
}

GVariant *legacy_get_properties(GDBusInterfaceSkeleton *skeleton) {
    const LegacyTypeData *d = legacy_data(skeleton);
    auto *parent = static_cast<GDBusInterfaceSkeletonClass *>(g_type_class_peek(d->parent));
    g_autoptr(GVariant) all = g_variant_ref_sink(parent->get_properties(skeleton));
    GVariantBuilder b;
    g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
    GVariantIter iter;
    const char *name = nullptr;
    GVariant *value = nullptr;
    g_variant_iter_init(&iter, all);
    while (g_variant_iter_next(&iter, "{&sv}", &name, &value)) {
        if (g_strcmp0(name, d->hidden) != 0)
            g_variant_builder_add(&b, "{sv}", name, value);
        g_variant_unref(value);
    }
    return g_variant_builder_end(&b);
}

void legacy_class_init(gpointer klass, gpointer) {
    auto *sk = G_DBUS_INTERFACE_SKELETON_CLASS(klass);
    sk->get_info = legacy_get_info;
    sk->get_properties = legacy_get_properties;
}

} // namespace

GType legacy_type(GType parent, GDBusInterfaceInfo *full, const char *hidden) {
    g_autofree char *name = g_strdup_printf("FakeQemuLegacy%s", g_type_name(parent));
    GType existing = g_type_from_name(name);
    if (existing != G_TYPE_INVALID)
        return existing;

    // Lives for the whole process: GDBus keeps pointers to the registered info.
    auto *data = new LegacyTypeData{parent, g_new0(GDBusInterfaceInfo, 1), hidden};
    *data->info = *full;
    data->info->ref_count = -1; // static
    guint n = 0;
    while (full->properties && full->properties[n])
        n++;
    data->info->properties = g_new0(GDBusPropertyInfo *, n + 1);
    guint out = 0;
    for (guint i = 0; i < n; i++) {
        if (g_strcmp0(full->properties[i]->name, hidden) != 0)
            data->info->properties[out++] = full->properties[i];
    }

    GTypeQuery q;
    g_type_query(parent, &q);
    GTypeInfo ti{};
    ti.class_size = static_cast<guint16>(q.class_size);
    ti.class_init = legacy_class_init;
    ti.instance_size = static_cast<guint16>(q.instance_size);
    GType type = g_type_register_static(parent, name, &ti, GTypeFlags(0));
    g_type_set_qdata(type, legacy_quark(), data);
    return type;
}

namespace {

void return_invalid(GDBusMethodInvocation *inv, const char *message) {
    g_dbus_method_invocation_return_dbus_error(inv, "org.qemu.Display1.Error.Invalid", message);
}

Json input_event(const Console &con, const char *kind) {
    Json ev;
    ev.add("event", kind).add("console", con.index);
    return ev;
}

// --- Input methods --------------------------------------------------------------------------

gboolean on_key(GDBusMethodInvocation *inv, guint keycode, Console *con, bool press) {
    emit(input_event(*con, "key")
             .add("action", press ? "press" : "release")
             .add("keycode", keycode));
    g_dbus_method_invocation_return_value(inv, nullptr);
    return TRUE;
}
gboolean on_key_press(QemuDisplayKeyboard *, GDBusMethodInvocation *inv, guint code, gpointer c) {
    return on_key(inv, code, static_cast<Console *>(c), true);
}
gboolean on_key_release(QemuDisplayKeyboard *, GDBusMethodInvocation *inv, guint code, gpointer c) {
    return on_key(inv, code, static_cast<Console *>(c), false);
}

gboolean on_button(GDBusMethodInvocation *inv, guint button, Console *con, bool press) {
    emit(input_event(*con, "mouse-button")
             .add("action", press ? "press" : "release")
             .add("button", button));
    g_dbus_method_invocation_return_value(inv, nullptr);
    return TRUE;
}
gboolean on_button_press(QemuDisplayMouse *, GDBusMethodInvocation *inv, guint b, gpointer c) {
    return on_button(inv, b, static_cast<Console *>(c), true);
}
gboolean on_button_release(QemuDisplayMouse *, GDBusMethodInvocation *inv, guint b, gpointer c) {
    return on_button(inv, b, static_cast<Console *>(c), false);
}

gboolean on_abs(QemuDisplayMouse *mouse, GDBusMethodInvocation *inv, guint x, guint y, gpointer c) {
    auto *con = static_cast<Console *>(c);
    Json ev = input_event(*con, "mouse-abs").add("x", x).add("y", y);
    const char *error = nullptr;
    if (!qemu_display_mouse_get_is_absolute(mouse))
        error = "Mouse is not absolute";
    else if (x >= qemu_display_console_get_width(con->iface.get()) ||
             y >= qemu_display_console_get_height(con->iface.get()))
        error = "Invalid mouse position";
    if (error) {
        emit(ev.add("error", error));
        return_invalid(inv, error);
    } else {
        emit(ev);
        g_dbus_method_invocation_return_value(inv, nullptr);
    }
    return TRUE;
}

gboolean on_rel(QemuDisplayMouse *mouse, GDBusMethodInvocation *inv, gint dx, gint dy, gpointer c) {
    Json ev = input_event(*static_cast<Console *>(c), "mouse-rel").add("dx", dx).add("dy", dy);
    if (qemu_display_mouse_get_is_absolute(mouse)) {
        emit(ev.add("error", "Mouse is not relative"));
        return_invalid(inv, "Mouse is not relative");
    } else {
        emit(ev);
        g_dbus_method_invocation_return_value(inv, nullptr);
    }
    return TRUE;
}

gboolean on_touch(QemuDisplayMultiTouch *, GDBusMethodInvocation *inv, guint kind, guint64 slot,
                  gdouble x, gdouble y, gpointer c) {
    Json ev = input_event(*static_cast<Console *>(c), "touch");
    ev.add("kind", kind).add("slot", static_cast<uint64_t>(slot)).add("x", x).add("y", y);
    g_autofree char *error = nullptr;
    if (kind > 3)
        error = g_strdup("Invalid touch event kind");
    else if (slot >= 10)
        error = g_strdup_printf("Unexpected touch slot number: %" G_GUINT64_FORMAT " >= 10", slot);
    if (error) {
        emit(ev.add("error", error));
        return_invalid(inv, error);
    } else {
        emit(ev);
        g_dbus_method_invocation_return_value(inv, nullptr);
    }
    return TRUE;
}

gboolean on_ui_info(QemuDisplayConsole *, GDBusMethodInvocation *inv, guint16 wmm, guint16 hmm,
                    gint xoff, gint yoff, guint w, guint h, gpointer c) {
    auto *con = static_cast<Console *>(c);
    Json ev = input_event(*con, "ui-info");
    ev.add("width_mm", unsigned{wmm}).add("height_mm", unsigned{hmm});
    ev.add("xoff", xoff).add("yoff", yoff).add("width", w).add("height", h);
    if (!con->ui_info_supported) {
        emit(ev.add("error", "SetUIInfo is not supported"));
        g_dbus_method_invocation_return_dbus_error(inv, "org.qemu.Display1.Error.Unsupported",
                                                   "SetUIInfo is not supported");
    } else {
        emit(ev);
        g_dbus_method_invocation_return_value(inv, nullptr);
    }
    return TRUE;
}

template <typename T> GObjPtr<T> make_skeleton(GType type) {
    return GObjPtr<T>(static_cast<T *>(g_object_new(type, nullptr)));
}

void add_iface(GDBusObjectSkeleton *obj, gpointer iface) {
    g_dbus_object_skeleton_add_interface(obj, G_DBUS_INTERFACE_SKELETON(iface));
}

void create_console(App &app, unsigned index) {
    auto con = std::make_unique<Console>();
    con->app = &app;
    con->index = index;
    g_autofree char *path = g_strdup_printf("/org/qemu/Display1/Console_%u", index);
    con->object.reset(g_dbus_object_skeleton_new(path));

    GType type = QEMU_DISPLAY_TYPE_CONSOLE_SKELETON;
    if (!app.at_least(kV81))
        type = legacy_type(type, qemu_display_console_interface_info(), "Interfaces");
    con->iface = make_skeleton<QemuDisplayConsole>(type);
    g_autofree char *addr = g_strdup_printf("pci/0000/%02x.0", 2 + index);
    qemu_display_console_set_label(con->iface.get(), "VGA");
    qemu_display_console_set_head(con->iface.get(), 0);
    qemu_display_console_set_type_(con->iface.get(), "Graphic");
    qemu_display_console_set_width(con->iface.get(), app.opts.width);
    qemu_display_console_set_height(con->iface.get(), app.opts.height);
    qemu_display_console_set_device_address(con->iface.get(), addr);
    if (app.at_least(kV81)) {
        const char *const ifaces[] = {"org.qemu.Display1.Keyboard", "org.qemu.Display1.Mouse",
                                      "org.qemu.Display1.MultiTouch", nullptr};
        qemu_display_console_set_interfaces(con->iface.get(), ifaces);
    }
    Console *c = con.get();
    g_signal_connect(con->iface.get(), "handle-register-listener", G_CALLBACK(on_register_listener),
                     c);
    g_signal_connect(con->iface.get(), "handle-set-uiinfo", G_CALLBACK(on_ui_info), c);
    add_iface(con->object.get(), con->iface.get());

    con->keyboard.reset(qemu_display_keyboard_skeleton_new());
    g_signal_connect(con->keyboard.get(), "handle-press", G_CALLBACK(on_key_press), c);
    g_signal_connect(con->keyboard.get(), "handle-release", G_CALLBACK(on_key_release), c);
    add_iface(con->object.get(), con->keyboard.get());

    con->mouse.reset(qemu_display_mouse_skeleton_new());
    qemu_display_mouse_set_is_absolute(con->mouse.get(), app.opts.absolute);
    g_signal_connect(con->mouse.get(), "handle-press", G_CALLBACK(on_button_press), c);
    g_signal_connect(con->mouse.get(), "handle-release", G_CALLBACK(on_button_release), c);
    g_signal_connect(con->mouse.get(), "handle-set-abs-position", G_CALLBACK(on_abs), c);
    g_signal_connect(con->mouse.get(), "handle-rel-motion", G_CALLBACK(on_rel), c);
    add_iface(con->object.get(), con->mouse.get());

    if (app.at_least(kV81)) {
        con->touch.reset(qemu_display_multi_touch_skeleton_new());
        qemu_display_multi_touch_set_max_slots(con->touch.get(), 10);
        g_signal_connect(con->touch.get(), "handle-send-event", G_CALLBACK(on_touch), c);
        add_iface(con->object.get(), con->touch.get());
    }
    g_dbus_object_manager_server_export(app.server.get(), con->object.get());
    app.consoles.push_back(std::move(con));
}

void on_name_signal(GDBusConnection *, const char *, const char *, const char *, const char *signal,
                    GVariant *params, gpointer) {
    const char *name = nullptr;
    g_variant_get(params, "(&s)", &name);
    if (g_strcmp0(name, "org.qemu") == 0)
        emit(Json()
                 .add("event",
                      g_strcmp0(signal, "NameAcquired") == 0 ? "name-acquired" : "name-lost")
                 .add("bus_name", name));
}

void on_bus_closed(GDBusConnection *, gboolean, GError *, gpointer data) {
    auto *app = static_cast<App *>(data);
    emit(Json().add("event", app->opts.p2p_fd >= 0 ? "p2p-closed" : "bus-closed"));
    if (app->opts.p2p_fd < 0)
        g_main_loop_quit(app->loop);
}

void on_p2p_ready(GObject *, GAsyncResult *res, gpointer data) {
    auto *app = static_cast<App *>(data);
    g_autoptr(GError) err = nullptr;
    GDBusConnection *conn = g_dbus_connection_new_finish(res, &err);
    if (conn == nullptr) {
        emit(
            Json().add("event", "error").add("message", std::string("p2p setup: ") + err->message));
        g_main_loop_quit(app->loop);
        return;
    }
    app->conn.reset(conn);
    g_signal_connect(conn, "closed", G_CALLBACK(on_bus_closed), app);
    g_dbus_object_manager_server_set_connection(app->server.get(), conn);
    g_dbus_connection_start_message_processing(conn);
    emit(Json()
             .add("event", "ready")
             .add_null("bus_name")
             .add_null("unique_name")
             .add("p2p", true)
             .add("version", app->opts.version_text));
}

} // namespace

Console &App::console_arg(const Args &args) {
    uint32_t i = args.u32("console", 0);
    if (i >= consoles.size())
        throw CommandError(kBadCommand, "no console " + std::to_string(i));
    return *consoles[i];
}

void create_display_objects(App &app) {
    app.server.reset(g_dbus_object_manager_server_new("/org/qemu/Display1"));
    app.vm_object.reset(g_dbus_object_skeleton_new("/org/qemu/Display1/VM"));
    GType type = QEMU_DISPLAY_TYPE_VM_SKELETON;
    if (!app.at_least(kV81))
        type = legacy_type(type, qemu_display_vm_interface_info(), "Interfaces");
    app.vm = make_skeleton<QemuDisplayVM>(type);
    qemu_display_vm_set_name(app.vm.get(), app.opts.name.c_str());
    qemu_display_vm_set_uuid(app.vm.get(), app.opts.uuid.c_str());
    GVariantBuilder ids;
    g_variant_builder_init(&ids, G_VARIANT_TYPE("au"));
    for (unsigned i = 0; i < app.opts.consoles; i++)
        g_variant_builder_add(&ids, "u", i);
    qemu_display_vm_set_console_ids(app.vm.get(), g_variant_builder_end(&ids));
    if (app.at_least(kV81)) {
        const char *const none[] = {nullptr}; // QEMU declares it but never fills it
        qemu_display_vm_set_interfaces(app.vm.get(), none);
    }
    add_iface(app.vm_object.get(), app.vm.get());
    g_dbus_object_manager_server_export(app.server.get(), app.vm_object.get());
    for (unsigned i = 0; i < app.opts.consoles; i++)
        create_console(app, i);
    create_clipboard(app);
    create_audio(app);
}

void connect_bus(App &app) {
    g_autoptr(GError) err = nullptr;
    GDBusConnection *conn = nullptr;
    if (!app.opts.address.empty()) {
        auto flags = GDBusConnectionFlags(G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                          G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION);
        conn = g_dbus_connection_new_for_address_sync(app.opts.address.c_str(), flags, nullptr,
                                                      nullptr, &err);
    } else {
        conn = g_bus_get_sync(G_BUS_TYPE_SESSION, nullptr, &err);
    }
    if (conn == nullptr)
        throw std::runtime_error(std::string("cannot connect to the bus: ") + err->message);
    app.conn.reset(conn);
    g_dbus_connection_set_exit_on_close(conn, FALSE);
    g_signal_connect(conn, "closed", G_CALLBACK(on_bus_closed), &app);
    g_dbus_object_manager_server_set_connection(app.server.get(), conn);

    for (const char *sig : {"NameAcquired", "NameLost"})
        g_dbus_connection_signal_subscribe(conn, "org.freedesktop.DBus", "org.freedesktop.DBus",
                                           sig, "/org/freedesktop/DBus", nullptr,
                                           G_DBUS_SIGNAL_FLAGS_NONE, on_name_signal, &app, nullptr);
    // Like g_bus_own_name_on_connection("org.qemu", G_BUS_NAME_OWNER_FLAGS_NONE): queue when
    // another VM owns the name.
    g_autoptr(GVariant) reply = g_dbus_connection_call_sync(
        conn, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
        "RequestName", g_variant_new("(su)", "org.qemu", 0u), G_VARIANT_TYPE("(u)"),
        G_DBUS_CALL_FLAGS_NONE, -1, nullptr, &err);
    if (reply == nullptr)
        throw std::runtime_error(std::string("RequestName: ") + err->message);
    guint32 result = 0;
    g_variant_get(reply, "(u)", &result);
    emit(Json()
             .add("event", "ready")
             .add("bus_name", "org.qemu")
             .add("unique_name", g_dbus_connection_get_unique_name(conn))
             .add("primary_owner", result == 1 || result == 4)
             .add("version", app.opts.version_text));
}

void connect_p2p(App &app) {
    g_autoptr(GError) err = nullptr;
    g_autoptr(GSocket) socket = g_socket_new_from_fd(app.opts.p2p_fd, &err);
    if (socket == nullptr)
        throw std::runtime_error(std::string("--p2p-fd: ") + err->message);
    g_autoptr(GSocketConnection) stream = g_socket_connection_factory_create_connection(socket);
    g_autofree char *guid = g_dbus_generate_guid();
    auto flags = GDBusConnectionFlags(G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_SERVER |
                                      G_DBUS_CONNECTION_FLAGS_DELAY_MESSAGE_PROCESSING);
    g_dbus_connection_new(G_IO_STREAM(stream), guid, flags, nullptr, nullptr, on_p2p_ready, &app);
}

} // namespace fakeqemu
