// xkeras/instantiate.hpp - include in exactly one source file of a program whose other files
// include <xkeras/extern_templates.hpp>: the float classes it names are compiled there.
#pragma once

#include "extern_templates.hpp"

namespace xkeras {
#define XKERAS_DETAIL_INSTANTIATE(C) template class C<float>;
#define XKERAS_DETAIL_INSTANTIATE_LAYER(L) template class layers::L<float>;
#define XKERAS_DETAIL_INSTANTIATE_RENAMED(K, L) template class layers::L<float>;
XKERAS_DETAIL_FLOAT_CLASSES(XKERAS_DETAIL_INSTANTIATE)
XKERAS_BUILTIN_LAYERS(XKERAS_DETAIL_INSTANTIATE_LAYER)
XKERAS_BUILTIN_RENAMED_LAYERS(XKERAS_DETAIL_INSTANTIATE_RENAMED)
#undef XKERAS_DETAIL_INSTANTIATE
#undef XKERAS_DETAIL_INSTANTIATE_LAYER
#undef XKERAS_DETAIL_INSTANTIATE_RENAMED
}  // namespace xkeras
