/**
 * @mcp-apm/services: ready-made APMs for the five MCP services.
 *
 * @since 0.1.0
 */
export {}
