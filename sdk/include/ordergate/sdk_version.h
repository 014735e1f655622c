/*
 * ordergate/sdk_version.h — the SDK's release version.
 *
 * The SDK release version (what `find_package(ordergate-sdk 1.0)` matches) is separate from the ABI
 * version in plugin_abi.h (OG_ABI_MAJOR / OG_ABI_MINOR): a release may fix headers, the CMake
 * package or the test kit without touching the ABI. A plugin records the SDK release it was built
 * with in its descriptor (og_plugin_descriptor.sdk_version), so `ordergate plugin list` can show it.
 * From 1.3.0 on, the SDK's minor follows the ABI minor it carries (SDK 1.3.x speaks ABI 1.3);
 * the 1.0.0 release carried ABI 1.0 to 1.2.
 * Plain C, so it can be included from C and C++ alike.
 */
#ifndef ORDERGATE_SDK_VERSION_H
#define ORDERGATE_SDK_VERSION_H

#define ORDERGATE_SDK_VERSION_MAJOR 1
#define ORDERGATE_SDK_VERSION_MINOR 7
#define ORDERGATE_SDK_VERSION_PATCH 1
#define ORDERGATE_SDK_VERSION_STRING "1.7.1"

/* One number for preprocessor comparisons: MAJOR * 10000 + MINOR * 100 + PATCH. */
#define ORDERGATE_SDK_VERSION                                                    \
    (ORDERGATE_SDK_VERSION_MAJOR * 10000 + ORDERGATE_SDK_VERSION_MINOR * 100 + \
     ORDERGATE_SDK_VERSION_PATCH)

#endif /* ORDERGATE_SDK_VERSION_H */
