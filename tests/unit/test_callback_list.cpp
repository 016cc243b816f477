// CallbackList: callbacks registered by several owners, each removed with its subscription.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "common/callback_list.h"

using vmcast::CallbackList;

TEST(CallbackList, EachSubscriberIsCalledWhileItsSubscriptionLives) {
    CallbackList<int> list;
    std::vector<int> first, second;
    auto first_subscription = list.add([&](int value) { first.push_back(value); });
    {
        auto second_subscription = list.add([&](int value) { second.push_back(value); });
        list.notify(1);
    }
    list.notify(2);
    EXPECT_EQ(first, (std::vector<int>{1, 2}));
    EXPECT_EQ(second, (std::vector<int>{1}));
}

TEST(CallbackList, ACallbackMayRemoveAnotherOrItself) {
    CallbackList<> list;
    int calls = 0;
    CallbackList<>::Subscription later;
    auto remover = list.add([&] {
        ++calls;
        later.reset();
    });
    later = list.add([&] { calls += 100; });
    list.notify();
    EXPECT_EQ(calls, 1);
}

TEST(CallbackList, ASubscriptionMayOutliveItsList) {
    auto list = std::make_unique<CallbackList<>>();
    auto subscription = list->add([] {});
    list.reset();
    subscription.reset(); // nothing to remove from, and no crash
    SUCCEED();
}
