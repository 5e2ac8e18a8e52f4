// GraphQL for notification channels and their deliveries. Channels hold where alerts go (a webhook address may carry a
// token), so reading them needs the operator role, as changing them does.
import { Arg, Args, Ctx, FieldResolver, Mutation, Query, Resolver, Root } from 'type-graphql';
import { PageArgs, toConnection } from '../../../common/graphql/connection';
import { RequiresRole, toPayload } from '../../../common/graphql/types';
import type { MonitoringContext } from '../context';
import { DeliveryStatus, NotificationAttempt, NotificationChannel, NotificationDelivery } from './notification.entity';
import { CreateNotificationChannelInput, DeleteNotificationChannelInput, UpdateNotificationChannelInput } from './notification.inputs';
import {
  CreateNotificationChannelPayload,
  DeleteNotificationChannelPayload,
  NotificationChannelConnection,
  NotificationDeliveryConnection,
  UpdateNotificationChannelPayload,
} from './notification.payloads';
import {
  createNotificationChannel,
  deleteNotificationChannel,
  listDeliveries,
  listNotificationChannels,
  updateNotificationChannel,
} from './notification-channel.service';

@Resolver(() => NotificationChannel)
export class NotificationChannelResolver {
  @Query(() => NotificationChannelConnection, { description: 'Notification channels, by name.' })
  @RequiresRole('operator')
  async notificationChannels(@Args(() => PageArgs) page: PageArgs, @Ctx() ctx: MonitoringContext): Promise<NotificationChannelConnection> {
    return toConnection(NotificationChannelConnection, await listNotificationChannels(ctx.em, page));
  }

  @Mutation(() => CreateNotificationChannelPayload, {
    description:
      'Adds a webhook told of the alerts its severities and matchers take, when they fire and resolve, in Alertmanager\'s JSON, ' +
      'signed with HMAC-SHA256 (`X-Touchline-Signature: t=<unix>,v1=<hex of HMAC(secret, "<t>.<body>")>`).',
  })
  async createNotificationChannel(
    @Arg('input', () => CreateNotificationChannelInput) input: CreateNotificationChannelInput,
    @Ctx() ctx: MonitoringContext,
  ): Promise<CreateNotificationChannelPayload> {
    return toPayload(CreateNotificationChannelPayload, await createNotificationChannel(ctx.em, input));
  }

  @Mutation(() => UpdateNotificationChannelPayload, { description: 'Changes the given fields of a notification channel.' })
  async updateNotificationChannel(
    @Arg('input', () => UpdateNotificationChannelInput) input: UpdateNotificationChannelInput,
    @Ctx() ctx: MonitoringContext,
  ): Promise<UpdateNotificationChannelPayload> {
    return toPayload(UpdateNotificationChannelPayload, await updateNotificationChannel(ctx.em, input));
  }

  @Mutation(() => DeleteNotificationChannelPayload, { description: 'Deletes a notification channel with its deliveries.' })
  async deleteNotificationChannel(
    @Arg('input', () => DeleteNotificationChannelInput) input: DeleteNotificationChannelInput,
    @Ctx() ctx: MonitoringContext,
  ): Promise<DeleteNotificationChannelPayload> {
    return toPayload(DeleteNotificationChannelPayload, await deleteNotificationChannel(ctx.em, input));
  }

  @FieldResolver(() => NotificationDeliveryConnection, { description: 'Its notifications, newest first, with every attempt.' })
  async deliveries(
    @Root() channel: NotificationChannel,
    @Args(() => PageArgs) page: PageArgs,
    @Arg('status', () => DeliveryStatus, { nullable: true }) status: DeliveryStatus | null,
    @Ctx() ctx: MonitoringContext,
  ): Promise<NotificationDeliveryConnection> {
    return toConnection(NotificationDeliveryConnection, await listDeliveries(ctx.em, channel.id, page, status));
  }
}

@Resolver(() => NotificationDelivery)
export class NotificationDeliveryResolver {
  @FieldResolver(() => [NotificationAttempt], { description: 'Each POST so far, first first.' })
  attempts(@Root() delivery: NotificationDelivery, @Ctx() ctx: MonitoringContext): Promise<NotificationAttempt[]> {
    return ctx.loaders.attemptsOfDelivery.load(delivery.id);
  }

  @FieldResolver(() => String, { description: 'The JSON body sent (the same on every attempt).' })
  payload(@Root() delivery: NotificationDelivery): string {
    return delivery.body;
  }
}
