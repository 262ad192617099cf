// xkeras/callbacks.hpp - every callback.
#pragma once

#include "callbacks/callback.hpp"
#include "callbacks/csv_logger.hpp"
#include "callbacks/early_stopping.hpp"
#include "callbacks/history.hpp"
#include "callbacks/learning_rate.hpp"
#include "callbacks/model_checkpoint.hpp"
#include "callbacks/monitor.hpp"
#include "callbacks/progbar_logger.hpp"
#include "callbacks/terminate_on_nan.hpp"
