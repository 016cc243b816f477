// A text as the key presses and releases that type it on a keyboard with the guest's layout:
// each character becomes its key, with Shift and AltGr pressed around it as the layout needs.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "compositor/layout_keys.h"

namespace vmcast::web {

struct KeyStroke {
    uint32_t qnum = 0;
    bool down = false;
};

// The layouts of messages.h's kTypingLayouts, each compiled when it is first asked for (the
// publisher asks for "us" when it starts).
class TypingLayouts {
  public:
    // nullptr and why not in error when the layout does not compile.
    const compositor::LayoutKeys *get(const std::string &layout, std::string &error);

  private:
    compositor::XkbContextPtr context_;
    std::map<std::string, std::unique_ptr<compositor::LayoutKeys>> layouts_;
};

// The strokes that type text (UTF-8) with layout; false and an error naming every character
// the layout cannot type (at most a few) when there is one. '\n' is Enter and '\t' Tab; '\r'
// is dropped (a pasted Windows line end).
bool strokes_for_text(const compositor::LayoutKeys &layout, const std::string &layout_name,
                      std::string_view text, std::vector<KeyStroke> &strokes, std::string &error);

// Caps Lock tapped before and after strokes: with the guest's Caps Lock on, typed letters would
// come out in the other case, so it is off while the text is typed and on again after.
void around_caps_lock(std::vector<KeyStroke> &strokes);

} // namespace vmcast::web
