// Per request loaders of alerting: the active silences (read once, whatever the number of alerts asking which of them
// silence it), and the attempts of each notification delivery.
import DataLoader from 'dataloader';
import type { EntityManager } from 'typeorm';
import { attemptsOf } from '../notifications/notification-channel.service';
import { activeSilences } from '../silences/silence.service';

export function alertingLoaders(em: EntityManager) {
  return {
    /** Keyed by 'now': one read per request. */
    activeSilences: new DataLoader(async (keys: readonly 'now'[]) => {
      const silences = await activeSilences(em, new Date());
      return keys.map(() => silences);
    }),
    attemptsOfDelivery: new DataLoader((ids: readonly string[]) => attemptsOf(em, ids)),
  };
}
