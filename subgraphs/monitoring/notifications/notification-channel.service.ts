// Notification channels: creating, changing and deleting them with each problem named, and listing them and their
// deliveries. A channel's secret is written, never read back.
import { randomBytes, randomUUID } from 'node:crypto';
import { In, LessThan, Not, type EntityManager } from 'typeorm';
import { dateCursorValue, paginate, type ConnectionShape, type PageArgs } from '../../../common/graphql/connection';
import { reject, succeed, UserErrorCode, userError, type Outcome } from '../../../common/graphql/types';
import { InputCheck } from '../../../common/validation';
import { checkMatchers } from '../silences/silence.service';
import { DeliveryStatus, NotificationAttempt, NotificationChannel, NotificationDelivery } from './notification.entity';
import type { CreateNotificationChannelInput, DeleteNotificationChannelInput, UpdateNotificationChannelInput } from './notification.inputs';

const NAME_LENGTH = 200;
const URL_LENGTH = 2_000;
const SECRET = /^[\x21-\x7e]{16,200}$/;

type ChannelFields = Pick<NotificationChannel, 'name' | 'url' | 'secret' | 'severities' | 'matchers' | 'sendResolved' | 'enabled'>;

export async function createNotificationChannel(
  em: EntityManager,
  input: CreateNotificationChannelInput,
): Promise<Outcome<{ notificationChannel: NotificationChannel; generatedSecret: string | null }>> {
  const check = new InputCheck();
  const generatedSecret = input.secret ? null : `whsec_${randomBytes(32).toString('hex')}`;
  const fields: ChannelFields = {
    name: input.name,
    url: input.url,
    secret: input.secret ?? generatedSecret!,
    severities: input.severities?.length ? [...new Set(input.severities)] : null,
    matchers: checkMatchers(check, 'matchers', input.matchers, { required: false }),
    sendResolved: input.sendResolved,
    enabled: input.enabled,
  };
  await checkChannel(em, check, null, fields, input.secret !== null && input.secret !== undefined);
  if (!check.ok) return reject(...check.errors);
  const now = new Date();
  const notificationChannel = em.create(NotificationChannel, { ...fields, id: randomUUID(), createdAt: now, updatedAt: now });
  await em.insert(NotificationChannel, notificationChannel);
  return succeed({ notificationChannel, generatedSecret });
}

export async function updateNotificationChannel(em: EntityManager, input: UpdateNotificationChannelInput): Promise<Outcome<{ notificationChannel: NotificationChannel }>> {
  const stored = await em.findOneBy(NotificationChannel, { id: input.id });
  if (!stored) return reject(userError('id', `no notification channel ${input.id}`, UserErrorCode.NOT_FOUND));
  const check = new InputCheck();
  const fields: ChannelFields = {
    name: input.name ?? stored.name,
    url: input.url ?? stored.url,
    secret: input.secret ?? stored.secret,
    severities: input.severities ? (input.severities.length ? [...new Set(input.severities)] : null) : stored.severities,
    matchers: input.matchers ? checkMatchers(check, 'matchers', input.matchers, { required: false }) : stored.matchers,
    sendResolved: input.sendResolved ?? stored.sendResolved,
    enabled: input.enabled ?? stored.enabled,
  };
  await checkChannel(em, check, stored.id, fields, input.secret !== null && input.secret !== undefined);
  if (!check.ok) return reject(...check.errors);
  Object.assign(stored, fields, { updatedAt: new Date() });
  await em.save(NotificationChannel, stored);
  return succeed({ notificationChannel: stored });
}

/** Deletes a channel with its deliveries and their attempts. */
export async function deleteNotificationChannel(em: EntityManager, input: DeleteNotificationChannelInput): Promise<Outcome<{ deletedId: string }>> {
  const stored = await em.findOneBy(NotificationChannel, { id: input.id });
  if (!stored) return reject(userError('id', `no notification channel ${input.id}`, UserErrorCode.NOT_FOUND));
  await deleteDeliveries(em, await em.find(NotificationDelivery, { select: { id: true }, where: { channelId: stored.id } }));
  await em.delete(NotificationChannel, { id: stored.id });
  return succeed({ deletedId: stored.id });
}

export function listNotificationChannels(em: EntityManager, page: PageArgs): Promise<ConnectionShape<NotificationChannel>> {
  return paginate(em.createQueryBuilder(NotificationChannel, 'channel'), page, [{ column: 'channel.name', value: (channel) => channel.name, direction: 'ASC' }]);
}

/** A channel's deliveries, newest first. */
export function listDeliveries(em: EntityManager, channelId: string, page: PageArgs, status: DeliveryStatus | null): Promise<ConnectionShape<NotificationDelivery>> {
  const query = em.createQueryBuilder(NotificationDelivery, 'delivery').where('delivery.channelId = :channelId', { channelId });
  if (status) query.andWhere('delivery.status = :status', { status });
  return paginate(query, page, [
    { column: 'delivery.createdAt', value: (delivery) => dateCursorValue(delivery.createdAt), direction: 'DESC' },
    { column: 'delivery.id', value: (delivery) => delivery.id, direction: 'ASC' },
  ]);
}

/** The attempts of each delivery, in order, in one read. */
export async function attemptsOf(em: EntityManager, deliveryIds: readonly string[]): Promise<NotificationAttempt[][]> {
  const attempts = await em.find(NotificationAttempt, { where: { deliveryId: In([...deliveryIds]) }, order: { number: 'ASC' } });
  return deliveryIds.map((id) => attempts.filter((attempt) => attempt.deliveryId === id));
}

async function checkChannel(em: EntityManager, check: InputCheck, id: string | null, fields: ChannelFields, secretGiven: boolean): Promise<void> {
  check.text('name', fields.name, NAME_LENGTH, { required: true });
  const urlProblem = webhookUrlProblem(fields.url);
  if (urlProblem) check.fail('url', urlProblem);
  if (secretGiven && !SECRET.test(fields.secret)) check.fail('secret', 'must be 16 to 200 printable ASCII characters without spaces');
  if (check.ok) {
    const sameName = await em.findOneBy(NotificationChannel, { name: fields.name });
    if (sameName && sameName.id !== id) check.fail('name', `a notification channel named ${fields.name} exists already`, UserErrorCode.ALREADY_EXISTS);
  }
}

function webhookUrlProblem(value: string): string | undefined {
  if (value.length > URL_LENGTH) return `at most ${URL_LENGTH} characters`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute http:// or https:// URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be an http:// or https:// URL';
  if (url.username || url.password) return 'must not hold credentials: the signature authenticates Touchline to the receiver';
  if (url.hash) return 'must not have a #fragment';
  return undefined;
}

/** Deletes finished deliveries (and their attempts) made before `before`; returns how many deliveries. */
export async function pruneDeliveries(em: EntityManager, before: Date): Promise<number> {
  const old = await em.find(NotificationDelivery, { select: { id: true }, where: { createdAt: LessThan(before), status: Not(DeliveryStatus.PENDING) } });
  await deleteDeliveries(em, old);
  return old.length;
}

async function deleteDeliveries(em: EntityManager, deliveries: readonly Pick<NotificationDelivery, 'id'>[]): Promise<void> {
  for (let offset = 0; offset < deliveries.length; offset += 500) {
    const ids = deliveries.slice(offset, offset + 500).map((delivery) => delivery.id);
    await em.delete(NotificationAttempt, { deliveryId: In(ids) });
    await em.delete(NotificationDelivery, { id: In(ids) });
  }
}
