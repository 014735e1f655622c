// Names the calling thread as `top -H`, `ps -L`, gdb and perf show it ("og-writer", ...).
//
// Linux keeps at most 15 bytes of a thread's name; a longer name is cut there. Naming is a help
// for operators and profiles, never a condition: a failure is ignored on purpose.
#pragma once

#include <pthread.h>

#include <string>

namespace ordergate {

inline void name_this_thread(const std::string& name) {
    (void)pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

}  // namespace ordergate
