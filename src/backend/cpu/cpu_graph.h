/*
 * cpu_graph.h: the CPU backend's executable graphs (the node list, replayed
 * in order into a command buffer) and timing marks (worker wall time).
 */
#ifndef MLXN_CPU_GRAPH_H
#define MLXN_CPU_GRAPH_H

#include "backend/cpu/cpu_backend.h"

mlxn_status mlxn__cpu_graph_build(mlxn_device *dev, const mlxn__graph_desc *b, void **out);
void mlxn__cpu_graph_free(mlxn_device *dev, void *exec);
mlxn_status mlxn__cpu_graph_launch(mlxn__cb *cb, void *exec);
mlxn_status mlxn__cpu_graph_set_node(mlxn_device *dev, void *exec, int i,
                                     const mlxn__launch *l);
mlxn_status mlxn__cpu_graph_edges(mlxn_device *dev, void *exec, mlxn__graph_edge **out,
                                  size_t *n);
mlxn_status mlxn__cpu_timer_new(mlxn_device *dev, void **out);
void mlxn__cpu_timer_free(mlxn_device *dev, void *timer);
mlxn_status mlxn__cpu_timer_mark(mlxn__cb *cb, void *timer, int which);
mlxn_status mlxn__cpu_timer_elapsed(mlxn_device *dev, void *timer, double *us);

#endif /* MLXN_CPU_GRAPH_H */
