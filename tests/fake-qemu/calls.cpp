// Command results and the listener calls a command waits for.
#include "app.hpp"

namespace fakeqemu {

namespace {

struct CallContext {
    std::shared_ptr<CallBatch> batch;
    ListenerPtr listener;
    CallBatch::ReplyHook hook;
};

void print_result(const CommandPtr &cmd, bool ok, const std::string &name,
                  const std::string &message) {
    Json out;
    out.add("cmd", cmd->verb);
    if (!cmd->id_json.empty())
        out.add_raw("id", cmd->id_json);
    out.add("ok", ok);
    out.add("elapsed_us", cmd->elapsed_us >= 0 ? cmd->elapsed_us : now_us() - cmd->start_us);
    if (!ok)
        out.add("error", name).add("message", message);
    out.merge(cmd->extra);
    emit(out);
}

void finish(App &app, const CommandPtr &cmd, bool ok, const std::string &name,
            const std::string &message) {
    if (cmd->done)
        return;
    cmd->done = true;
    print_result(cmd, ok, name, message);
    if (app.command_done)
        app.command_done();
}

} // namespace

void finish_ok(App &app, const CommandPtr &cmd) {
    finish(app, cmd, true, {}, {});
}

void finish_error(App &app, const CommandPtr &cmd, const std::string &name,
                  const std::string &message) {
    finish(app, cmd, false, name, message);
}

void describe_error(const GError *error, std::string &name, std::string &message) {
    if (g_dbus_error_is_remote_error(error)) {
        g_autofree char *remote = g_dbus_error_get_remote_error(error);
        g_autoptr(GError) copy = g_error_copy(error);
        g_dbus_error_strip_remote_error(copy);
        name = remote ? remote : "fake-qemu.Unknown";
        message = copy->message;
        return;
    }
    if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
        name = "fake-qemu.Timeout";
    else if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CLOSED))
        name = "fake-qemu.Closed";
    else
        name = "fake-qemu.LocalError";
    message = error->message;
}

std::shared_ptr<CallBatch> CallBatch::create(App &app, const CommandPtr &cmd) {
    std::shared_ptr<CallBatch> b(new CallBatch(app, cmd));
    b->timeout_ms_ = static_cast<int>(cmd->args.u32("call_timeout", kDefaultTimeoutMs));
    b->nowait_ = cmd->args.flag("nowait");
    return b;
}

void call_no_reply(GDBusProxy *proxy, const char *method, GVariant *params, GUnixFDList *fds) {
    g_dbus_proxy_call_with_unix_fd_list(proxy, method, params, G_DBUS_CALL_FLAGS_NONE,
                                        kQemuTimeoutMs, fds, nullptr, nullptr, nullptr);
}

void CallBatch::call(const ListenerPtr &listener, GDBusProxy *proxy, const char *method,
                     GVariant *params, GUnixFDList *fds, ReplyHook hook) {
    if (first_sent_us_ == 0)
        first_sent_us_ = now_us();
    calls_++;
    if (nowait_) {
        call_no_reply(proxy, method, params, fds);
        return;
    }
    pending_++;
    auto *ctx = new CallContext{shared_from_this(), listener, std::move(hook)};
    g_dbus_proxy_call_with_unix_fd_list(proxy, method, params, G_DBUS_CALL_FLAGS_NONE, timeout_ms_,
                                        fds, nullptr, on_reply, ctx);
}

void CallBatch::call_sync(const ListenerPtr &listener, GDBusProxy *proxy, const char *method,
                          GVariant *params, GUnixFDList *fds, ReplyHook hook) {
    if (first_sent_us_ == 0)
        first_sent_us_ = now_us();
    calls_++;
    g_autoptr(GError) err = nullptr;
    g_autoptr(GVariant) reply = g_dbus_proxy_call_with_unix_fd_list_sync(
        proxy, method, params, G_DBUS_CALL_FLAGS_NONE, timeout_ms_, fds, nullptr, nullptr, &err);
    record(*listener, reply ? nullptr : err, hook);
}

void CallBatch::on_reply(GObject *source, GAsyncResult *res, gpointer data) {
    std::unique_ptr<CallContext> ctx(static_cast<CallContext *>(data));
    g_autoptr(GError) err = nullptr;
    g_autoptr(GVariant) reply =
        g_dbus_proxy_call_with_unix_fd_list_finish(G_DBUS_PROXY(source), nullptr, res, &err);
    CallBatch &b = *ctx->batch;
    b.pending_--;
    b.record(*ctx->listener, reply ? nullptr : err, ctx->hook);
    b.maybe_finish();
}

void CallBatch::record(Listener &listener, const GError *error, const ReplyHook &hook) {
    if (hook)
        hook(listener, error);
    if (error != nullptr && error_name_.empty())
        describe_error(error, error_name_, error_message_);
}

void CallBatch::done_sending() {
    sending_ = false;
    maybe_finish();
}

void CallBatch::maybe_finish() {
    if (sending_ || pending_ > 0 || cmd_->done)
        return;
    cmd_->elapsed_us = first_sent_us_ != 0 ? now_us() - first_sent_us_ : 0;
    cmd_->extra.add("calls", calls_);
    if (nowait_)
        cmd_->extra.add("nowait", true);
    if (error_name_.empty())
        finish_ok(app_, cmd_);
    else
        finish_error(app_, cmd_, error_name_, error_message_);
}

} // namespace fakeqemu
