/*
 * cuda_graph.h: the CUDA backend's executable graphs (explicit CUDA graphs)
 * and timing marks (event pairs).
 */
#ifndef MLXN_CUDA_GRAPH_H
#define MLXN_CUDA_GRAPH_H

#include "backend/cuda/cuda_backend.h"

mlxn_status mlxn__cuda_graph_build(mlxn_device *dev, const mlxn__graph_desc *b, void **out);
void mlxn__cuda_graph_free(mlxn_device *dev, void *exec);
mlxn_status mlxn__cuda_graph_launch(mlxn__cb *cb, void *exec);
mlxn_status mlxn__cuda_graph_set_node(mlxn_device *dev, void *exec, int i,
                                      const mlxn__launch *l);
mlxn_status mlxn__cuda_graph_edges(mlxn_device *dev, void *exec, mlxn__graph_edge **out,
                                   size_t *n);
mlxn_status mlxn__cuda_timer_new(mlxn_device *dev, void **out);
void mlxn__cuda_timer_free(mlxn_device *dev, void *timer);
mlxn_status mlxn__cuda_timer_mark(mlxn__cb *cb, void *timer, int which);
mlxn_status mlxn__cuda_timer_elapsed(mlxn_device *dev, void *timer, double *us);

#endif /* MLXN_CUDA_GRAPH_H */
