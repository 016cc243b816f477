// What a viewer types and copies into the VM: toolbar key combinations, typed text (as key
// presses in the guest's layout) and the page's clipboard, each checked before it goes.
#include "web/viewer.h"

#include "qemu/clipboard_peer.h"
#include "web/text_strokes.h"

namespace vmcast::web {

void Viewer::press_combo(const KeyCombo &combo) {
    if (sequencer_->busy()) {
        refuse("a text is being typed: cancel it before " + combo.name);
        return;
    }
    std::vector<KeyStroke> strokes;
    for (uint32_t qnum : combo.qnums)
        strokes.push_back({qnum, true});
    for (auto qnum = combo.qnums.rbegin(); qnum != combo.qnums.rend(); ++qnum)
        strokes.push_back({*qnum, false});
    g_debug("viewer %lu: %s", id_, combo.name.c_str());
    sequencer_->start(std::move(strokes), nullptr);
}

void Viewer::type_text(const TypeText &typed) {
    if (sequencer_->busy()) {
        refuse("a text is being typed already: cancel it or wait");
        return;
    }
    std::string error;
    const compositor::LayoutKeys *layout = hooks_.layout_keys(typed.layout, error);
    std::vector<KeyStroke> strokes;
    if (!layout || !strokes_for_text(*layout, typed.layout, typed.text, strokes, error)) {
        refuse(error);
        return;
    }
    if (hooks_.keyboard_leds() & qemu::keyboard_led::kCapsLock)
        around_caps_lock(strokes);
    g_debug("viewer %lu: typing %zu strokes (layout %s)", id_, strokes.size(),
            typed.layout.c_str());
    send_text(json_message({{"type", "typing"}, {"state", "started"}}, "strokes",
                           int64_t(strokes.size())));
    sequencer_->start(std::move(strokes), [this](bool finished) {
        send_text(json_message({{"type", "typing"}, {"state", finished ? "done" : "cancelled"}}));
    });
}

// Pieces arrive in order on the ordered channel, before any key the page sends after them (the
// paste shortcut), so the VM has the text by the time the guest is asked to paste it.
void Viewer::add_clipboard_piece(ClipboardPiece piece) {
    const bool over_limit = !clipboard_limit_.allow();
    const bool too_long = clipboard_text_.size() + piece.text.size() > qemu::kMaxClipboardBytes;
    if (!clipboard_dropped_ && (over_limit || too_long)) {
        clipboard_dropped_ = true;
        refuse(over_limit
                   ? "clipboard text sent too fast; this text was dropped"
                   : "clipboard text over " + std::to_string(qemu::kMaxClipboardBytes / 1024) +
                         " KiB; this text was dropped");
    }
    if (!clipboard_dropped_)
        clipboard_text_ += piece.text;
    if (!piece.last)
        return;
    std::string text = std::exchange(clipboard_text_, {});
    if (std::exchange(clipboard_dropped_, false))
        return;
    std::string error;
    if (!hooks_.clipboard_copied(std::move(text), error))
        refuse(error);
}

} // namespace vmcast::web
