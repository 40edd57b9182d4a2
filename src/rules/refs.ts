/** Reference page URLs from the catalogue's shorthand (wsd-rules.md §0). */
export const C = (slug: string): string => `https://learn.microsoft.com/en-us/windows-hardware/drivers/network/${slug}`
export const R = (id: string): string => `https://learn.microsoft.com/en-us/previous-versions/windows/hardware/network/${id}(v=vs.85)`
export const S = (name: string): string => `https://learn.microsoft.com/en-us/windows/win32/api/ws2spi/${name}`
